"""The five answers: each lands as a collector's log would, with source "portal", confirmed by email."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from agreements.models import Agreement
from calls.models import Complaint, ComplaintAttachment, Interaction, PaymentClaim, PlanProposal, Task
from calls.services import decide_plan_proposal
from customers.models import ContactChange
from customers.services import decide_contact_change
from dunning.services import ensure_standard_policy, run_dunning_batch
from tests.factories import TODAY
from tests.portal.conftest import url

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """Post one of the five forms; the confirmation email goes out on commit, as in production."""

    def send(client, token, action, data, submission=None, **files):
        data = {"submission": submission or uuid.uuid4().hex, **data}
        fields = {f"{action}-{key}": value for key, value in {**data, **files}.items()}
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url(token, f"answer/{action}/"), fields)

    return send


def test_a_dispute_opens_a_complaint_from_the_portal_with_its_file_and_pauses_dunning(
    post, client, token, customer, invoices
):
    ensure_standard_policy()
    response = post(
        client, token, "dispute",
        {"invoices": [invoices[0].pk], "category": "pricing", "description": "<b>Wrong</b> price & VAT"},
        attachment=SimpleUploadedFile("proof.png", PNG, content_type="image/png"),
    )  # fmt: skip
    assert response.status_code == 302 and "done=dispute" in response["Location"]
    complaint = Complaint.objects.get(customer=customer)
    assert complaint.interaction.channel == "portal" and complaint.interaction.direction == "inbound"
    assert list(complaint.invoices.all()) == [invoices[0]]
    invoices[0].refresh_from_db()
    assert invoices[0].status == "disputed"
    attachment = ComplaintAttachment.objects.get(complaint=complaint)
    assert attachment.content_type == "image/png"
    assert str(attachment.file.path).startswith(str(attachment.file.storage.location))
    task = Task.objects.get(customer=customer, kind="portal_answer")
    assert task.reason.startswith("Portal: disputed PINV-1 (Pricing)") and task.due_on == TODAY
    [message] = mail.outbox
    assert message.to == ["pat@acme.example"] and "&lt;b&gt;Wrong&lt;/b&gt; price &amp; VAT" in message.body
    page = client.get(url(token)).content.decode()
    assert "Disputed: reminders paused" in page and "<b>Wrong</b>" not in page
    result = run_dunning_batch(customer_ids=[customer.pk], today=TODAY + dt.timedelta(days=1))
    assert all(invoices[0] not in planned.lines for planned in result.reminders)
    assert all(line.invoice_id != invoices[0].pk for planned in result.reminders for line in planned.lines)


def test_an_oversized_attachment_is_refused_and_nothing_is_written(
    post, client, token, customer, invoices, settings
):
    settings.PORTAL_ATTACHMENT_MAX_BYTES = 1024
    response = post(
        client, token, "dispute", {"invoices": [invoices[0].pk], "category": "pricing", "description": "x"},
        attachment=SimpleUploadedFile("big.png", PNG + b"\x00" * 2048, content_type="image/png"),
    )  # fmt: skip
    assert response.status_code == 400 and b"at most 5 MB" in response.content
    assert not Complaint.objects.exists() and not Interaction.objects.exists() and not mail.outbox


def test_a_mislabelled_attachment_is_refused_whatever_its_name(post, client, token, customer, invoices):
    response = post(
        client, token, "dispute", {"invoices": [invoices[0].pk], "category": "pricing", "description": "x"},
        attachment=SimpleUploadedFile("invoice.pdf", b"#!/bin/sh\necho hi\n", content_type="application/pdf"),
    )  # fmt: skip
    assert response.status_code == 400 and b"Only PDF, PNG or JPEG" in response.content
    assert not Complaint.objects.exists() and not ComplaintAttachment.objects.exists()


def test_a_promise_within_the_limit_is_an_active_agreement_that_pauses_its_invoices(
    post, client, token, customer, invoices
):
    ensure_standard_policy()
    response = post(client, token, "promise", {"invoices": [invoices[1].pk], "pay_on": "2026-12-10"})
    assert response.status_code == 302
    agreement = Agreement.objects.get(customer=customer)
    assert (agreement.kind, agreement.state, agreement.total_amount) == (
        "promise",
        "active",
        Decimal("200.00"),
    )
    assert agreement.interaction.channel == "portal"
    assert agreement.instalments.get().due_date == dt.date(2026, 12, 10)
    assert Task.objects.get(kind="portal_answer").reason.startswith("Portal: promised EUR 200.00 by 10 Dec")
    assert "10 December 2026" in mail.outbox[0].body
    result = run_dunning_batch(customer_ids=[customer.pk], today=TODAY + dt.timedelta(days=1))
    assert all(line.invoice_id != invoices[1].pk for planned in result.reminders for line in planned.lines)


def test_a_promise_past_the_limit_gets_a_clear_message_and_nothing_is_written(
    post, client, token, customer, invoices
):
    late = TODAY + dt.timedelta(days=31)
    response = post(client, token, "promise", {"invoices": [invoices[1].pk], "pay_on": late.isoformat()})
    assert response.status_code == 400
    assert b"Choose a date no later than 23 December 2026 (30 days)" in response.content
    assert not Agreement.objects.exists() and not Interaction.objects.exists() and not Task.objects.exists()
    assert not mail.outbox


def test_a_proposed_plan_waits_for_a_credit_manager_who_accepts_it(
    post, client, token, customer, invoices, credit_manager
):
    data = {"invoices": [invoices[0].pk, invoices[1].pk], "date_1": "2026-12-01", "amount_1": "150",
            "date_2": "2027-01-01", "amount_2": "150"}  # fmt: skip
    assert post(client, token, "plan", data).status_code == 302
    proposal = PlanProposal.objects.get(customer=customer)
    assert proposal.state == "pending" and not Agreement.objects.exists()
    decide_plan_proposal(proposal=proposal, accept=True, user=credit_manager, today=TODAY)
    proposal.refresh_from_db()
    assert proposal.agreement.kind == "plan" and proposal.agreement.instalments.count() == 2
    assert proposal.interaction.agreement == proposal.agreement  # its source: the portal
    assert "Accepted" in client.get(url(token)).content.decode()


def test_a_declined_plan_shows_its_reason_to_the_customer(
    post, client, token, customer, invoices, credit_manager
):
    data = {"invoices": [invoices[0].pk], "date_1": "2026-12-01", "amount_1": "50", "date_2": "2026-12-15",
            "amount_2": "50"}  # fmt: skip
    post(client, token, "plan", data)
    proposal = PlanProposal.objects.get()
    decide_plan_proposal(
        proposal=proposal, accept=False, user=credit_manager, today=TODAY, reason="Too <long>"
    )
    page = client.get(url(token)).content.decode()
    assert "Declined" in page and "Too &lt;long&gt;" in page


def test_already_paid_makes_a_task_and_pauses_those_reminders_for_five_business_days(
    post, client, token, customer, invoices
):
    ensure_standard_policy()
    data = {"invoices": [invoices[2].pk], "paid_on": "2026-11-20", "amount": "300.00", "reference": "BANK-42"}
    assert post(client, token, "paid", data).status_code == 302
    assert post(client, token, "paid", data).status_code == 302  # resent: still one claim
    claim = PaymentClaim.objects.get()
    assert claim.pause_until == dt.date(2026, 11, 30)  # Monday 23rd + 5 business days
    assert Task.objects.filter(kind="portal_answer", reason__contains="BANK-42").count() == 1
    paused = run_dunning_batch(customer_ids=[customer.pk], today=dt.date(2026, 11, 27))
    assert all(line.invoice_id != invoices[2].pk for planned in paused.reminders for line in planned.lines)
    resumed = run_dunning_batch(customer_ids=[customer.pk], today=dt.date(2026, 11, 30))
    assert any(line.invoice_id == invoices[2].pk for planned in resumed.reminders for line in planned.lines)


def test_a_new_contact_waits_for_the_collector_to_confirm_it(post, client, token, customer, owner):
    data = {"name": "Nina New", "role": "Accounts payable", "email": "nina@acme.example", "phone": ""}
    assert post(client, token, "contact", data).status_code == 302
    change = ContactChange.objects.get()
    assert change.state == "pending" and not customer.contacts.filter(name="Nina New").exists()
    decide_contact_change(change=change, confirm=True, actor=owner, today=TODAY)
    contact = customer.contacts.get(name="Nina New")
    assert contact.is_primary and contact.verified_at is not None


def test_portal_answers_show_on_the_timeline_and_the_worklist_with_their_source(
    post, client, token, customer, invoices, owner
):
    post(client, token, "promise", {"invoices": [invoices[1].pk], "pay_on": "2026-12-10"})
    client.force_login(owner)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "Portal" in page and "Promise to pay" in page
    worklist = client.get("/worklist/").content.decode()
    assert "Portal: promised EUR 200.00" in worklist


def test_the_same_form_sent_twice_is_recorded_once(post, client, token, customer, invoices):
    data = {"invoices": [invoices[0].pk], "category": "delivery", "description": "Never arrived"}
    first = post(client, token, "dispute", data, submission="form-1")
    again = post(client, token, "dispute", data, submission="form-1")
    assert first.status_code == again.status_code == 302
    assert Complaint.objects.filter(customer=customer).count() == 1 and len(mail.outbox) == 1
    post(client, token, "dispute", {**data, "invoices": [invoices[1].pk]}, submission="form-2")
    assert Complaint.objects.filter(customer=customer).count() == 2


def test_portal_writes_are_audited_through_the_portal_channel(post, client, token, customer, invoices):
    from audit.models import Entry

    before = set(Entry.objects.values_list("pk", flat=True))
    post(client, token, "promise", {"invoices": [invoices[1].pk], "pay_on": "2026-12-10"})
    entries = Entry.objects.filter(customer_id=customer.pk).exclude(pk__in=before)
    assert entries.exists() and set(entries.values_list("channel", flat=True)) == {"portal"}
    assert all(entry.who == "system" for entry in entries)


def test_a_plan_with_a_past_date_is_refused_on_its_row_and_nothing_is_written(post, client, token, invoices):
    data = {"invoices": [invoices[0].pk], "date_1": "2026-11-01", "amount_1": "50", "date_2": "2026-12-15",
            "amount_2": "50"}  # fmt: skip
    response = post(client, token, "plan", data)
    assert response.status_code == 400
    assert response.context["forms"]["plan"].errors["date_1"] == ["Cannot be before the agreement was made."]
    assert not PlanProposal.objects.exists() and not Interaction.objects.exists()
