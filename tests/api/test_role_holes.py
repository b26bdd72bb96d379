"""Issue 9, items 1, 2 and 7: each role held to its job in the API and in the services themselves.

The capability table is customers.access; these tests prove the holes found in review are closed.
"""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from agreements.services import InstalmentTerms, cancel_agreement
from calls.services import CallLog, ExcuseInput, complete_task, log_call, record_excuse, resolve_complaint
from customers.access import SYSTEM, Capability, may
from customers.models import Segment
from customers.services import (
    assign_collector,
    pause_dunning,
    save_contact,
    set_credit_hold,
    upsert_customer,
    upsert_segment,
)
from invoices.models import Invoice
from invoices.services import set_invoice_status
from reports.services import update_worth_it_settings
from tests.api.conftest import client_for
from tests.factories import (
    AgreementFactory,
    ComplaintFactory,
    ContactFactory,
    CustomerFactory,
    ExcuseFactory,
    InteractionFactory,
    InvoiceFactory,
    SegmentFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def yesterday() -> dt.date:
    return timezone.localdate() - dt.timedelta(days=1)


@pytest.fixture
def disputed(collector):
    customer = CustomerFactory(account_number="ACC-1", collector=collector)
    invoice = InvoiceFactory(number="F-1", customer=customer, status="disputed")
    complaint = ComplaintFactory(customer=customer, opened_on=yesterday(), description="Damaged goods")
    complaint.invoices.set([invoice])
    return complaint


# --- Item 1: only credit managers resolve complaints ----------------------------------------------


def test_a_collector_cannot_resolve_a_complaint_nor_cancel_its_invoices_through_the_api(
    as_collector, disputed
):
    body = {"outcome": "upheld", "cancel_invoices": True}
    response = as_collector.post(f"/api/v1/complaints/{disputed.pk}/resolve/", body, format="json")
    assert response.status_code == 403
    disputed.refresh_from_db()
    assert disputed.outcome == "" and disputed.resolved_on is None
    assert Invoice.objects.get(number="F-1").status == "disputed"


def test_a_credit_manager_resolves_and_cancels_through_the_api(as_manager, disputed):
    body = {"outcome": "upheld", "cancel_invoices": True}
    response = as_manager.post(f"/api/v1/complaints/{disputed.pk}/resolve/", body, format="json")
    assert response.status_code == 200 and response.json()["outcome"] == "upheld"
    assert Invoice.objects.get(number="F-1").status == "cancelled"


# --- Item 2: integrators sync the ledger, decide nothing and read no conversation -----------------


@pytest.mark.parametrize("status", ["written_off", "cancelled", "disputed", "open"])
def test_an_integrator_cannot_set_an_invoice_status(as_integrator, status):
    invoice = InvoiceFactory(number="F-9")
    response = as_integrator.post(f"/api/v1/invoices/{invoice.pk}/status/", {"status": status}, format="json")
    assert response.status_code == 403
    assert Invoice.objects.get(pk=invoice.pk).status == "open"


def test_an_integrator_cannot_create_or_overwrite_a_segment(as_integrator, as_manager):
    SegmentFactory(name="SME", lateness_threshold_days=45)
    body = {"name": "SME", "lateness_threshold_days": 5}
    assert as_integrator.post("/api/v1/segments/", body, format="json").status_code == 403
    assert as_integrator.post("/api/v1/segments/", {"name": "New"}, format="json").status_code == 403
    assert Segment.objects.get(name="SME").lateness_threshold_days == 45
    assert not Segment.objects.filter(name="New").exists()
    assert as_manager.post("/api/v1/segments/", {"name": "New"}, format="json").status_code == 201


@pytest.mark.parametrize(
    ("path", "factory"),
    [("interactions", InteractionFactory), ("excuses", ExcuseFactory), ("tasks", TaskFactory)],
)
def test_an_integrator_cannot_read_conversations(as_integrator, path, factory):
    record = factory()
    assert as_integrator.get(f"/api/v1/{path}/").status_code == 403
    assert as_integrator.get(f"/api/v1/{path}/{record.pk}/").status_code == 403


def test_an_integrator_reads_disputes_and_agreements_without_their_words(as_integrator, as_manager, disputed):
    agreement = AgreementFactory(customer=disputed.customer, notes="Says the boss is ill")
    complaints = as_integrator.get("/api/v1/complaints/").json()["results"]
    assert complaints[0]["category"] == disputed.category and complaints[0]["invoices"] == ["F-1"]
    assert "description" not in complaints[0] and "Damaged" not in str(complaints)
    one = as_integrator.get(f"/api/v1/complaints/{disputed.pk}/").json()
    assert "description" not in one and "interaction" not in one
    agreements = as_integrator.get(f"/api/v1/agreements/{agreement.pk}/").json()
    assert agreements["state"] == "active" and "notes" not in agreements
    assert as_manager.get(f"/api/v1/complaints/{disputed.pk}/").json()["description"] == "Damaged goods"
    assert as_manager.get(f"/api/v1/agreements/{agreement.pk}/").json()["notes"] == "Says the boss is ill"


def test_a_user_without_a_role_may_do_nothing(db):
    nobody = UserFactory(username="nobody")
    assert not any(may(nobody, capability) for capability in Capability)
    assert client_for(nobody).get("/api/v1/invoices/").status_code == 403


# --- Services refuse a wrong role, whoever calls them ----------------------------------------------


def test_services_refuse_a_wrong_role_when_called_directly(collector, integrator, finance_lead, disputed):
    customer = disputed.customer
    invoice = Invoice.objects.get(number="F-1")
    refusals = [
        lambda: resolve_complaint(
            complaint=disputed, outcome="upheld", user=collector, today=timezone.localdate()
        ),
        lambda: set_invoice_status(invoice=invoice, status="cancelled", actor=integrator),
        lambda: set_invoice_status(invoice=invoice, status="cancelled", actor=collector),
        lambda: upsert_segment(name="SME", actor=integrator),
        lambda: set_credit_hold(customer=customer, on_hold=True, actor=collector),
        lambda: pause_dunning(customer=customer, until=None, actor=integrator),
        lambda: assign_collector(customers=[customer], collector=None, actor=collector),
        lambda: upsert_customer(account_number="ACC-1", name="X", actor=collector),
        lambda: log_call(
            customer=customer, user=integrator, call=CallLog(outcome="reached"), today=yesterday()
        ),
        lambda: log_call(
            customer=customer, user=finance_lead, call=CallLog(outcome="reached"), today=yesterday()
        ),
        lambda: record_excuse(
            customer=customer, excuse=ExcuseInput("cash_flow"), actor=integrator, today=yesterday()
        ),
        lambda: complete_task(task=TaskFactory(customer=customer), actor=finance_lead),
        lambda: save_contact(customer=customer, actor=finance_lead, name="Anna"),
        lambda: cancel_agreement(
            agreement=AgreementFactory(customer=customer), today=yesterday(), actor=integrator
        ),
        lambda: update_worth_it_settings(actor=finance_lead, revenue_weight=Decimal("2")),
        lambda: set_credit_hold(customer=customer, on_hold=True, actor=SYSTEM),
    ]
    for index, refused in enumerate(refusals):
        with pytest.raises(PermissionDenied):
            refused()
            pytest.fail(f"refusal #{index} was allowed")
    customer.refresh_from_db()
    assert not customer.credit_hold and customer.collector == collector
    assert Invoice.objects.get(number="F-1").status == "disputed"


def test_a_service_without_an_acting_user_refuses_instead_of_acting_silently(disputed):
    with pytest.raises(PermissionDenied, match="SYSTEM"):
        resolve_complaint(complaint=disputed, outcome="rejected", user=None, today=timezone.localdate())
    with pytest.raises(PermissionDenied):
        log_call(customer=disputed.customer, user=None, call=CallLog(outcome="reached"), today=yesterday())


def test_the_system_actor_records_what_a_run_produces(disputed):
    excuse = record_excuse(
        customer=disputed.customer, excuse=ExcuseInput("cash_flow"), actor=SYSTEM, today=yesterday()
    )
    assert excuse.pk
    interaction = log_call(
        customer=disputed.customer, user=SYSTEM, call=CallLog(outcome="reached"), today=yesterday()
    )
    assert interaction.user is None


def test_an_integrator_customer_sync_cannot_set_a_credit_decision_in_the_service(integrator, credit_manager):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        upsert_customer(account_number="ERP-1", name="X", credit_limit=Decimal("10"), actor=integrator)
    assert set(refused.value.message_dict) == {"credit_limit"}
    customer, created = upsert_customer(
        account_number="ERP-1", name="X", credit_limit=Decimal("10"), actor=credit_manager
    )
    assert created and customer.credit_limit == Decimal("10")


# --- Item 7: nothing outside the portfolio is told to exist ----------------------------------------


@pytest.fixture
def two_portfolios(collector):
    mine = CustomerFactory(account_number="ACC-1", collector=collector)
    InvoiceFactory(number="F-1", customer=mine)
    theirs = CustomerFactory(account_number="ACC-2", collector=UserFactory(username="col2", role="collector"))
    InvoiceFactory(number="F-THEIRS", customer=theirs)
    return mine, theirs


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("interactions", {"outcome": "excuse", "excuse": {"category": "cash_flow"}}),
        ("excuses", {"category": "cash_flow"}),
        ("complaints", {"category": "pricing", "description": "Too much"}),
        ("agreements", {"kind": "promise", "instalments": [{"due_date": "2099-01-31", "amount": "5.00"}]}),
    ],
)
def test_another_portfolios_invoice_gets_the_same_answer_as_no_such_invoice(
    as_collector, two_portfolios, path, body
):
    def errors_for(number):
        response = as_collector.post(
            f"/api/v1/{path}/", {"customer": "ACC-1", **body, "invoices": [number]}, format="json"
        )
        assert response.status_code == 400
        return str(response.json()).replace(number, "<number>")

    assert errors_for("F-THEIRS") == errors_for("NO-SUCH-NUMBER")


def test_another_portfolios_contact_gets_the_same_answer_as_no_such_contact(as_collector, two_portfolios):
    mine, theirs = two_portfolios
    contact = ContactFactory(customer=theirs)
    missing_id = contact.pk + 1000

    def errors_for(contact_id):
        response = as_collector.post(
            "/api/v1/interactions/",
            {"customer": "ACC-1", "outcome": "reached", "contact": contact_id},
            format="json",
        )
        assert response.status_code == 400
        return re.sub(r"id \d+", "id <id>", str(response.json()))

    assert errors_for(contact.pk) == errors_for(missing_id)


def test_a_payment_allocated_to_another_customers_invoice_reads_as_no_such_invoice(
    as_integrator, two_portfolios
):
    def errors_for(number):
        body = {
            "customer": "ACC-1", "reference": f"P-{number}", "received_on": "2026-11-20", "amount": "1.00",
            "currency": "EUR", "allocations": [{"invoice": number, "amount": "1.00"}],
        }  # fmt: skip
        response = as_integrator.post("/api/v1/payments/", body, format="json")
        assert response.status_code == 400
        return str(response.json()).replace(number, "<number>")

    assert errors_for("F-THEIRS") == errors_for("NO-SUCH-NUMBER")


def test_calls_with_terms_go_through_instalment_terms_unchanged(collector, two_portfolios):
    mine, _ = two_portfolios
    call = CallLog(outcome="promise", promise=InstalmentTerms(timezone.localdate(), Decimal("5.00")))
    interaction = log_call(customer=mine, user=collector, call=call, today=timezone.localdate())
    assert interaction.agreement.made_by == collector
