"""Delivering reminders: email, PDF letter, call task, SMS; retries, failure, never twice."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core import mail
from pypdf import PdfReader

from calls.models import Task
from customers.selectors import portal_link
from dunning.delivery import DeliveryFailed, LocmemSmsBackend, deliver
from dunning.models import Proposal, Reminder, Step
from dunning.services import run_dunning_batch
from dunning.tasks import deliver_reminder
from tests.factories import ContactFactory, CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db

DUE = dt.date(2026, 11, 23)


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def reminder_at(policy, offset: int, customer=None, invoices=1, **customer_fields) -> Reminder:
    customer = customer or CustomerFactory(**customer_fields)
    for number in range(invoices):
        InvoiceFactory(customer=customer, due_date=DUE - dt.timedelta(days=number), amount=Decimal("1234.50"))
    result = run_dunning_batch(customer_ids=[customer.pk], today=DUE + dt.timedelta(days=offset))
    return Reminder.objects.get(pk=result.created_reminder_ids[-1])


def test_email_reminder_goes_to_the_customer_with_the_invoices_and_is_never_sent_twice(standard_policy):
    reminder = reminder_at(standard_policy, 3, invoices=2, email="ap@acme.example")
    assert deliver(reminder.pk).status == "sent"
    again = deliver(reminder.pk)
    assert again.claimed is False and again.status == "sent"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ap@acme.example"]
    assert message.subject.startswith("Payment reminder: 2 invoice(s) overdue, EUR 2,469.00")
    for invoice in reminder.invoices.all():
        assert invoice.number in message.body
    reminder.refresh_from_db()
    assert reminder.status == "sent" and reminder.sent_at and reminder.attempts == 1


def test_email_falls_back_to_the_primary_contact_address(standard_policy):
    customer = CustomerFactory(email="")
    ContactFactory(customer=customer, email="ada@acme.example")
    deliver(reminder_at(standard_policy, 3, customer=customer).pk)
    assert mail.outbox[0].to == ["ada@acme.example"]


def test_failed_delivery_is_retried_then_marked_failed_after_the_last_try(standard_policy, settings):
    settings.DUNNING_DELIVERY_MAX_RETRIES = 2
    reminder = reminder_at(standard_policy, 3, email="")  # no address anywhere
    outcome = deliver_reminder.apply(args=[reminder.pk])  # eager: retries run at once
    assert outcome.result == "failed"
    reminder.refresh_from_db()
    assert reminder.status == "failed" and reminder.attempts == 3
    assert "has no email address" in reminder.last_error
    assert mail.outbox == []


def test_a_failure_before_the_last_try_leaves_the_reminder_pending_for_the_retry(standard_policy):
    reminder = reminder_at(standard_policy, 3, email="")
    with pytest.raises(DeliveryFailed):
        deliver(reminder.pk, final_attempt=False)
    reminder.refresh_from_db()
    assert reminder.status == "pending" and reminder.attempts == 1


def test_final_letter_is_a_pdf_listing_the_invoices_and_proposes_a_credit_hold(standard_policy):
    customer = CustomerFactory(name="Acme Trading", address_line="1 Dock Road", city="Rotterdam")
    reminder = reminder_at(standard_policy, 30, customer=customer, invoices=3)
    assert reminder.channel == "letter" and reminder.tone == "final"
    deliver(reminder.pk)
    reminder.refresh_from_db()
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(reminder.letter_pdf.read())).pages)
    for invoice in reminder.invoices.all():
        assert invoice.number in text
    assert "Acme Trading" in text and "EUR 3,703.50" in text
    proposal = Proposal.objects.get(customer=customer)
    assert proposal.kind == "credit_hold" and proposal.state == "proposed"


def test_firm_step_puts_a_call_on_the_collector_worklist_once(standard_policy, collector):
    customer = CustomerFactory(collector=collector)
    reminder = reminder_at(standard_policy, 7, customer=customer)
    deliver(reminder.pk)
    Reminder.objects.filter(pk=reminder.pk).update(status="pending")  # even a repeated delivery
    deliver(reminder.pk)
    task = Task.objects.get(dedupe_key=f"reminder:{reminder.pk}")
    assert task.kind == "call" and task.assigned_to == collector and task.due_on == reminder.run_on


def test_sms_step_goes_through_the_configured_backend(standard_policy, settings):
    settings.DUNNING_SMS_BACKEND = "dunning.delivery.LocmemSmsBackend"
    LocmemSmsBackend.outbox.clear()
    Step.objects.filter(policy=standard_policy, offset_days=3).update(
        channel="sms", body_template="{{ customer.name }}: {{ totals_text }} overdue. Please pay."
    )
    customer = CustomerFactory(name="Bolt BV")
    ContactFactory(customer=customer, phone="+31 6 1234 5678")
    deliver(reminder_at(standard_policy, 3, customer=customer).pk)
    [sms] = LocmemSmsBackend.outbox
    text, _, link = sms["text"].rpartition(" ")
    assert (sms["to"], text) == ("+31 6 1234 5678", "Bolt BV: EUR 1,234.50 overdue. Please pay.")
    assert (
        portal_link(link.rstrip("/").rsplit("/", 1)[1]).customer == customer
    )  # the customer's personal link


def test_step_template_errors_are_refused_when_saved(standard_policy):
    from django.core.exceptions import ValidationError

    step = Step(
        policy=standard_policy,
        offset_days=60,
        channel="email",
        tone="final",
        subject_template="{% if %}",
        body_template="{{ invoices|nosuchfilter }}",
    )
    with pytest.raises(ValidationError) as error:
        step.full_clean()
    assert set(error.value.message_dict) == {"subject_template", "body_template"}


def test_a_claim_left_by_a_dead_worker_is_released_and_delivered_once(standard_policy, settings):
    from django.utils import timezone

    from dunning.selectors import reminders_to_deliver
    from dunning.services import release_stale_claims

    settings.DUNNING_SENDING_TIMEOUT = 60
    stale = reminder_at(standard_policy, 3)
    fresh = reminder_at(standard_policy, 3)
    now = timezone.now()
    Reminder.objects.filter(pk=stale.pk).update(status="sending", claimed_at=now - dt.timedelta(seconds=61))
    Reminder.objects.filter(pk=fresh.pk).update(status="sending", claimed_at=now - dt.timedelta(seconds=5))
    assert release_stale_claims(now=now) == 1
    assert reminders_to_deliver(today=stale.run_on) == [stale.pk]
    assert deliver(stale.pk).status == "sent" and deliver(fresh.pk).claimed is False
    assert [m.extra_headers["X-CreditDesk-Reminder"] for m in mail.outbox] == [str(stale.pk)]


def test_credit_manager_retries_a_failed_reminder_once_the_address_is_fixed(
    client, credit_manager, standard_policy
):
    from django.urls import reverse

    reminder = reminder_at(standard_policy, 3, email="")
    with pytest.raises(DeliveryFailed):
        deliver(reminder.pk)
    reminder.customer.email = "ap@fixed.example"
    reminder.customer.save()
    client.force_login(credit_manager)
    response = client.post(reverse("dunning:reminder-retry", args=[reminder.pk]), follow=True)
    assert f"Reminder R{reminder.pk} to {reminder.customer.name} was delivered." in response.text
    assert mail.outbox[0].to == ["ap@fixed.example"]
    reminder.refresh_from_db()
    assert reminder.status == "sent" and reminder.attempts == 2
