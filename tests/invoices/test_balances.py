"""Open amounts and statuses follow from allocations, on SQLite and PostgreSQL alike."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from invoices.models import Allocation, Invoice, Payment
from invoices.selectors import open_invoices, with_balances
from invoices.services import AllocationRequest, allocate, record_payment, set_invoice_status, upsert_invoice
from tests.factories import TODAY, CustomerFactory, InvoiceFactory, PaymentFactory, UserFactory

pytestmark = pytest.mark.django_db


def balance(invoice, as_of=None):
    return with_balances(Invoice.objects.filter(pk=invoice.pk), as_of=as_of).get()


def test_open_amount_is_amount_less_allocations():
    invoice = InvoiceFactory(amount=Decimal("1000.00"))
    allocate(
        payment=PaymentFactory(customer=invoice.customer, amount=Decimal("300.00")),
        invoice=invoice,
        amount=Decimal("300.00"),
    )
    allocate(
        payment=PaymentFactory(customer=invoice.customer, amount=Decimal("500.00")),
        invoice=invoice,
        amount=Decimal("250.10"),
    )
    row = balance(invoice)
    assert row.paid == Decimal("550.10")
    assert row.open_amount == Decimal("449.90")
    assert row.balance_status == "open"
    assert Invoice.objects.get(pk=invoice.pk).allocated_amount == Decimal("550.10")


def test_fully_allocated_invoice_is_paid():
    invoice = InvoiceFactory(amount=Decimal("99.99"))
    payment = PaymentFactory(customer=invoice.customer, amount=Decimal("99.99"))
    allocate(payment=payment, invoice=invoice, amount=Decimal("99.99"))
    assert balance(invoice).balance_status == "paid"
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"
    assert not open_invoices().filter(pk=invoice.pk).exists()


def test_open_amount_as_of_a_past_day_ignores_later_payments():
    invoice = InvoiceFactory(amount=Decimal("500.00"))
    payment = PaymentFactory(customer=invoice.customer, amount=Decimal("500.00"), received_on=TODAY)
    allocate(payment=payment, invoice=invoice, amount=Decimal("500.00"))
    assert balance(invoice, as_of=TODAY - dt.timedelta(days=1)).open_amount == Decimal("500.00")
    assert balance(invoice, as_of=TODAY).open_amount == Decimal("0.00")


def test_decided_status_outranks_allocations():
    invoice = InvoiceFactory()
    manager = UserFactory(role="credit_manager")
    set_invoice_status(invoice=invoice, status="written_off", actor=manager)
    assert balance(invoice).balance_status == "written_off"
    with pytest.raises(ValidationError, match="through payments"):
        set_invoice_status(invoice=invoice, status="paid", actor=manager)


def test_allocation_over_the_invoice_open_amount_is_refused_and_nothing_changes():
    invoice = InvoiceFactory(amount=Decimal("100.00"))
    payment = PaymentFactory(customer=invoice.customer, amount=Decimal("500.00"))
    allocate(payment=payment, invoice=invoice, amount=Decimal("60.00"))
    other = PaymentFactory(customer=invoice.customer, amount=Decimal("500.00"))
    with pytest.raises(ValidationError, match=r"exceeds the open amount of invoice .* \(40\.00 EUR\)"):
        allocate(payment=other, invoice=invoice, amount=Decimal("40.01"))
    assert Allocation.objects.filter(payment=other).count() == 0
    assert Invoice.objects.get(pk=invoice.pk).allocated_amount == Decimal("60.00")


def test_allocation_over_the_payment_is_refused():
    customer = CustomerFactory()
    payment = PaymentFactory(customer=customer, amount=Decimal("100.00"))
    allocate(payment=payment, invoice=InvoiceFactory(customer=customer), amount=Decimal("80.00"))
    with pytest.raises(ValidationError, match=r"exceeds what is left of payment .* \(20\.00 EUR\)"):
        allocate(payment=payment, invoice=InvoiceFactory(customer=customer), amount=Decimal("20.01"))


def test_allocation_across_currencies_is_refused():
    invoice = InvoiceFactory(currency="USD")
    payment = PaymentFactory(customer=invoice.customer, currency="EUR")
    with pytest.raises(ValidationError, match="is in USD, the payment in EUR"):
        allocate(payment=payment, invoice=invoice, amount=Decimal("1.00"))


def test_payment_with_one_bad_allocation_writes_nothing():
    customer = CustomerFactory()
    good = InvoiceFactory(customer=customer, amount=Decimal("100.00"))
    small = InvoiceFactory(customer=customer, amount=Decimal("10.00"))
    with pytest.raises(ValidationError) as error:
        record_payment(
            customer=customer,
            reference="BANK-1",
            received_on=TODAY,
            amount=Decimal("200.00"),
            currency="EUR",
            allocations=[
                AllocationRequest(good.number, Decimal("100.00")),
                AllocationRequest(small.number, Decimal("50.00")),
            ],
        )
    assert "allocations[1]" in error.value.message_dict
    assert not Payment.objects.exists()
    assert Invoice.objects.get(pk=good.pk).allocated_amount == 0


def test_recording_the_same_payment_twice_writes_it_once():
    customer = CustomerFactory()
    invoice = InvoiceFactory(customer=customer, amount=Decimal("100.00"))
    kwargs = dict(
        customer=customer,
        reference="BANK-9",
        received_on=TODAY,
        amount=Decimal("100.00"),
        currency="EUR",
        allocations=[AllocationRequest(invoice.number, Decimal("100.00"))],
    )
    first, created = record_payment(**kwargs)
    again, created_again = record_payment(**kwargs)
    assert created and not created_again and first.pk == again.pk
    assert Invoice.objects.get(pk=invoice.pk).allocated_amount == Decimal("100.00")


def test_upsert_invoice_updates_in_place_and_validates():
    customer = CustomerFactory()
    invoice, created = upsert_invoice(
        number="ERP-1",
        customer=customer,
        issue_date=TODAY,
        due_date=TODAY,
        amount=Decimal("10.00"),
        currency="EUR",
    )
    same, created_again = upsert_invoice(
        number="ERP-1",
        customer=customer,
        issue_date=TODAY,
        due_date=TODAY + dt.timedelta(days=30),
        amount=Decimal("12.00"),
        currency="EUR",
    )
    assert created and not created_again and same.pk == invoice.pk
    assert Invoice.objects.get(number="ERP-1").amount == Decimal("12.00")
    with pytest.raises(ValidationError) as error:
        upsert_invoice(
            number="ERP-2",
            customer=customer,
            issue_date=TODAY,
            due_date=TODAY - dt.timedelta(days=1),
            amount=Decimal("-1"),
            currency="EUR",
        )
    assert "amount" in str(error.value) or "__all__" in error.value.message_dict
    assert not Invoice.objects.filter(number="ERP-2").exists()
