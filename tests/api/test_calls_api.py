"""Collectors' work through the API: calls logged with promises, excuses, complaints, tasks, agreements."""

import datetime as dt

import pytest
from django.utils import timezone

from agreements.models import Agreement
from calls.models import Complaint, Interaction, Task
from invoices.models import Invoice
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    InvoiceFactory,
    PolicyFactory,
    ReminderFactory,
    SegmentFactory,
    StepFactory,
    TaskFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def portfolio(collector):
    customer = CustomerFactory(account_number="ACC-1", collector=collector)
    InvoiceFactory(number="F-1", customer=customer)
    return customer


def later(days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def test_a_call_with_a_promise_records_the_agreement_and_the_next_action(as_collector, portfolio):
    contact = ContactFactory(customer=portfolio)
    body = {
        "customer": "ACC-1",
        "outcome": "promise",
        "minutes_spent": 6,
        "contact": contact.pk,
        "notes": "Pays Friday",
        "promise": {"due_date": later(4), "amount": "1000.00"},
        "invoices": ["F-1"],
        "next_action_on": later(5),
    }
    response = as_collector.post("/api/v1/interactions/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["user"] == "col" and response.json()["contact"] == contact.pk
    agreement = Agreement.objects.get(pk=response.json()["agreement"])
    assert agreement.kind == "promise" and [i.number for i in agreement.invoices.all()] == ["F-1"]
    assert Task.objects.get(customer=portfolio).kind == "follow_up_promise"


def test_a_call_with_both_promise_and_plan_is_refused_whole(as_collector, portfolio):
    body = {
        "customer": "ACC-1",
        "outcome": "promise",
        "promise": {"due_date": later(4), "amount": "10.00"},
        "plan": [{"due_date": later(5), "amount": "5.00"}, {"due_date": later(9), "amount": "5.00"}],
    }
    response = as_collector.post("/api/v1/interactions/", body, format="json")
    assert response.status_code == 400 and "plan" in response.json()
    assert not Interaction.objects.exists() and not Agreement.objects.exists()


def test_a_plan_agreement_has_its_instalments_in_date_order_and_can_be_cancelled(as_collector, portfolio):
    body = {
        "customer": "ACC-1",
        "kind": "plan",
        "invoices": ["F-1"],
        "instalments": [
            {"due_date": later(60), "amount": "500.00"},
            {"due_date": later(30), "amount": "500.00"},
        ],
    }
    created = as_collector.post("/api/v1/agreements/", body, format="json")
    assert created.status_code == 201
    assert [i["due_date"] for i in created.json()["instalments"]] == [later(30), later(60)]
    assert created.json()["total_amount"] == "1000.00" and created.json()["made_by"] == "col"
    cancelled = as_collector.post(f"/api/v1/agreements/{created.json()['id']}/cancel/", format="json")
    assert cancelled.json()["state"] == "cancelled"
    again = as_collector.post(f"/api/v1/agreements/{created.json()['id']}/cancel/", format="json")
    assert again.status_code == 400 and "state" in again.json()


def test_an_agreement_in_the_past_or_on_an_unknown_invoice_is_a_400(as_collector, portfolio):
    body = {
        "customer": "ACC-1",
        "kind": "promise",
        "invoices": ["NOPE"],
        "instalments": [{"due_date": later(3), "amount": "5.00"}],
    }
    response = as_collector.post("/api/v1/agreements/", body, format="json")
    assert response.json() == {"invoices": ["ACC-1 has no invoice numbered NOPE."]}
    body["invoices"], body["instalments"][0]["due_date"] = ["F-1"], later(-3)
    response = as_collector.post("/api/v1/agreements/", body, format="json")
    assert response.json() == {"instalments[0].due_date": ["Cannot be before the agreement was made."]}


def test_a_complaint_disputes_its_invoices_until_resolved(as_collector, as_manager, portfolio):
    body = {"customer": "ACC-1", "category": "pricing", "description": "Wrong price", "invoices": ["F-1"]}
    opened = as_collector.post("/api/v1/complaints/", body, format="json")
    assert opened.status_code == 201 and opened.json()["invoices"] == ["F-1"]
    assert Invoice.objects.get(number="F-1").status == "disputed"
    resolve = f"/api/v1/complaints/{opened.json()['id']}/resolve/"
    resolved = as_manager.post(resolve, {"outcome": "rejected"}, format="json")
    assert resolved.json()["outcome"] == "rejected" and resolved.json()["resolved_by"] == "cm"
    assert Invoice.objects.get(number="F-1").status == "open"
    assert as_manager.post(resolve, {"outcome": "upheld"}, format="json").status_code == 400
    assert Complaint.objects.get().outcome == "rejected"


def test_excuses_are_recorded_against_the_customers_own_invoices(as_collector, portfolio):
    other = InvoiceFactory(number="F-OTHER")
    body = {"customer": "ACC-1", "category": "cash_flow", "words": "Next month", "invoices": ["F-OTHER"]}
    refused = as_collector.post("/api/v1/excuses/", body, format="json")
    assert refused.json() == {"invoices": ["ACC-1 has no invoice numbered F-OTHER."]}
    body["invoices"] = ["F-1"]
    recorded = as_collector.post("/api/v1/excuses/", body, format="json")
    assert recorded.status_code == 201 and recorded.json()["category"] == "cash_flow"
    assert other.excuses.count() == 0


def test_tasks_are_created_for_the_collector_and_completed(as_collector, portfolio):
    created = as_collector.post(
        "/api/v1/tasks/",
        {"customer": "ACC-1", "reason": "Send copy invoice", "due_on": later(2)},
        format="json",
    )
    assert created.status_code == 201 and created.json()["assigned_to"] == "col"
    done = as_collector.post(f"/api/v1/tasks/{created.json()['id']}/complete/", {}, format="json")
    assert done.json()["status"] == "done" and done.json()["done_at"]
    TaskFactory(customer=portfolio, status="open")
    assert [
        t["status"] for t in as_collector.get("/api/v1/tasks/", {"status": "open"}).json()["results"]
    ] == ["open"]


def test_contacts_are_kept_with_one_primary(as_collector, portfolio):
    first = as_collector.post(
        "/api/v1/contacts/", {"customer": "ACC-1", "name": "Piet", "is_primary": True}, format="json"
    ).json()
    second = as_collector.post(
        "/api/v1/contacts/",
        {"customer": "ACC-1", "name": "Kees", "is_primary": True, "verified": True},
        format="json",
    ).json()
    assert second.get("verified_at") is not None, second
    listed = as_collector.get("/api/v1/contacts/", {"customer": portfolio.pk}).json()["results"]
    assert [(c["name"], c["is_primary"]) for c in listed] == [("Kees", True), ("Piet", False)]
    renamed = as_collector.patch(
        f"/api/v1/contacts/{first['id']}/", {"phone": "+31 6 1234 5678"}, format="json"
    )
    assert renamed.status_code == 200 and renamed.json()["phone"] == "+31 6 1234 5678"


def test_reminders_and_policies_are_read_only(as_finance, portfolio):
    policy = PolicyFactory(name="SME ladder", segment=SegmentFactory(name="SME"))
    step = StepFactory(policy=policy, offset_days=7)
    reminder = ReminderFactory(customer=portfolio, step=step)
    reminder.lines.create(invoice=Invoice.objects.get(number="F-1"), open_amount="1000.00")
    listed = as_finance.get("/api/v1/reminders/").json()["results"]
    assert listed[0]["policy"] == "SME ladder" and listed[0]["lines"] == [
        {"invoice": "F-1", "open_amount": "1000.00"}
    ]
    policies = {p["name"]: p for p in as_finance.get("/api/v1/dunning-policies/").json()["results"]}
    assert [step["offset_days"] for step in policies["SME ladder"]["steps"]] == [7]
    assert as_finance.delete(f"/api/v1/reminders/{reminder.pk}/").status_code in (403, 405)
