"""The database refuses ledger data that must never exist, with a message a person can act on."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from customers.models import Customer
from dunning.models import Reminder
from invoices.models import Allocation, Invoice, Payment
from tests.factories import (
    TODAY,
    CustomerFactory,
    InvoiceFactory,
    PaymentFactory,
    ReminderFactory,
    StepFactory,
)

pytestmark = pytest.mark.django_db


def assert_refused(build, message: str) -> None:
    """full_clean names the rule in words; the database refuses the row even without it."""
    with pytest.raises(ValidationError) as error:
        build().full_clean()
    assert message in str(error.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        build().save()


def test_account_numbers_are_unique():
    CustomerFactory(account_number="A-1")
    assert_refused(
        lambda: CustomerFactory.build(account_number="A-1", segment=None), "Account number already exists"
    )


def test_invoice_numbers_are_unique():
    InvoiceFactory(number="INV-1")
    customer = CustomerFactory()
    assert_refused(lambda: InvoiceFactory.build(number="INV-1", customer=customer), "Number already exists")


@pytest.mark.parametrize("amount", [Decimal("0.00"), Decimal("-5.00")])
def test_invoice_amount_must_be_positive(amount):
    customer = CustomerFactory()
    assert_refused(lambda: InvoiceFactory.build(customer=customer, amount=amount), "must be positive")


def test_payment_amount_must_be_positive():
    customer = CustomerFactory()
    assert_refused(lambda: PaymentFactory.build(customer=customer, amount=Decimal("-1")), "must be positive")


def test_due_date_cannot_precede_issue_date():
    customer = CustomerFactory()
    assert_refused(
        lambda: InvoiceFactory.build(
            customer=customer, issue_date=TODAY, due_date=TODAY - dt.timedelta(days=1)
        ),
        "due date cannot be before the issue date",
    )


def test_unknown_currency_is_refused():
    customer = CustomerFactory()
    assert_refused(lambda: InvoiceFactory.build(customer=customer, currency="XXX"), "XXX")
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(currency="EU")


def test_allocation_amount_must_be_positive():
    invoice = InvoiceFactory()
    payment = PaymentFactory(customer=invoice.customer)
    with pytest.raises(IntegrityError), transaction.atomic():
        Allocation.objects.create(payment=payment, invoice=invoice, amount=Decimal("0"))


def test_stored_allocated_sum_cannot_pass_the_invoice_amount():
    invoice = InvoiceFactory(amount=Decimal("100.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(allocated_amount=Decimal("100.01"))


def test_stored_allocated_sum_cannot_pass_the_payment_amount():
    payment = PaymentFactory(amount=Decimal("100.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(allocated_amount=Decimal("100.01"))


def test_one_reminder_per_customer_step_and_day():
    step = StepFactory()
    reminder = ReminderFactory(step=step)
    assert_refused(
        lambda: Reminder(
            customer=reminder.customer, step=step, run_on=reminder.run_on, channel="email", tone="polite"
        ),
        "already created for that day",
    )
    ReminderFactory(customer=reminder.customer, step=step, run_on=reminder.run_on + dt.timedelta(days=1))
    assert Reminder.objects.count() == 2
