"""Logging a call records everything it produced, all or nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from agreements.models import Agreement
from agreements.services import InstalmentTerms
from calls.models import Complaint, Excuse, Interaction, Task
from calls.services import CallLog, ComplaintInput, ExcuseInput, create_task, log_call, resolve_complaint
from customers.access import SYSTEM
from invoices.models import Invoice
from tests.factories import TODAY, ContactFactory, CustomerFactory, InvoiceFactory, TaskFactory

pytestmark = pytest.mark.django_db


def test_call_with_a_promise_creates_an_agreement_made_in_that_call(collector):
    customer = CustomerFactory(collector=collector)
    invoice = InvoiceFactory(customer=customer, amount=Decimal("1200.00"))
    TaskFactory(customer=customer, due_on=TODAY)
    call = CallLog(
        outcome="promise",
        minutes_spent=7,
        contact=ContactFactory(customer=customer),
        promise=InstalmentTerms(TODAY + dt.timedelta(days=7), Decimal("1200.00")),
        invoices=[invoice],
    )
    interaction = log_call(customer=customer, user=collector, call=call, today=TODAY)
    agreement = interaction.agreement
    assert agreement.kind == "promise" and agreement.total_amount == Decimal("1200.00")
    assert list(agreement.invoices.all()) == [invoice]
    assert agreement.instalments.get().due_date == TODAY + dt.timedelta(days=7)
    assert not Task.objects.filter(customer=customer, status="open").exists()


def test_payment_plan_needs_two_instalments_and_nothing_is_written_when_wrong(collector):
    customer = CustomerFactory()
    call = CallLog(outcome="promise", plan=[InstalmentTerms(TODAY, Decimal("10.00"))])
    with pytest.raises(ValidationError, match="at least two instalments"):
        log_call(customer=customer, user=collector, call=call, today=TODAY)
    assert not Interaction.objects.exists() and not Agreement.objects.exists()


def test_excuse_and_complaint_are_recorded_and_the_complaint_disputes_its_invoices(collector):
    customer = CustomerFactory()
    invoice = InvoiceFactory(customer=customer)
    call = CallLog(
        outcome="dispute",
        excuse=ExcuseInput("invoice_not_received", "Never got it"),
        complaint=ComplaintInput("quality", "Damaged goods"),
        invoices=[invoice],
        next_action_on=TODAY + dt.timedelta(days=3),
    )
    log_call(customer=customer, user=collector, call=call, today=TODAY)
    assert Excuse.objects.get().category == "invoice_not_received"
    assert Complaint.objects.get().is_open
    assert Invoice.objects.get(pk=invoice.pk).status == "disputed"
    assert Task.objects.get(customer=customer).due_on == TODAY + dt.timedelta(days=3)


def test_rejected_complaint_reopens_its_invoices(collector, credit_manager):
    customer = CustomerFactory()
    invoice = InvoiceFactory(customer=customer)
    log_call(
        customer=customer,
        user=collector,
        today=TODAY,
        call=CallLog(outcome="dispute", complaint=ComplaintInput("pricing", "Too dear"), invoices=[invoice]),
    )
    complaint = Complaint.objects.get()
    resolve_complaint(
        complaint=complaint, outcome="rejected", user=credit_manager, today=TODAY + dt.timedelta(days=5)
    )
    assert Invoice.objects.get(pk=invoice.pk).status == "open"
    assert Complaint.objects.get().outcome == "rejected"
    with pytest.raises(ValidationError, match="already resolved"):
        resolve_complaint(complaint=complaint, outcome="upheld", user=credit_manager, today=TODAY)


def test_next_action_in_the_past_is_refused(collector):
    with pytest.raises(ValidationError) as error:
        log_call(
            customer=CustomerFactory(),
            user=collector,
            today=TODAY,
            call=CallLog(outcome="reached", next_action_on=TODAY - dt.timedelta(days=1)),
        )
    assert "next_action_on" in error.value.message_dict


def test_task_with_the_same_dedupe_key_is_created_once():
    customer = CustomerFactory()
    task = {"customer": customer, "kind": "call", "reason": "Step +7", "due_on": TODAY, "dedupe_key": "r:1"}
    first = create_task(**task, actor=SYSTEM)
    again = create_task(**task, actor=SYSTEM)
    assert first.pk == again.pk and Task.objects.count() == 1
