"""The audit trail: every credit decision recorded once, by whom, when, through what, before and after,
in the transaction of the change; shown to credit managers only; never edited or deleted."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.context import Channel, audit_context
from audit.models import Entry
from calls.services import ComplaintInput, open_complaint
from customers.access import SYSTEM
from customers.services import set_credit_hold
from dunning.services import ensure_standard_policy
from dunning.tasks import run_dunning_batch
from invoices.models import Invoice
from invoices.services import allocate
from reports.services import update_worth_it_settings
from tests.api.conftest import client_for
from tests.factories import (
    TODAY,
    AgreementFactory,
    ComplaintFactory,
    CustomerFactory,
    InstalmentFactory,
    InvoiceFactory,
    PaymentFactory,
    ProposalFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def entries_of(record) -> list[Entry]:
    """The record's update entries (the factories' creations are recorded too, but are not the point)."""
    return list(
        Entry.objects.filter(
            content_type__model=record._meta.model_name, object_id=record.pk, action=Entry.Action.UPDATE
        )
    )


def only_entry(record) -> Entry:
    entries = entries_of(record)
    assert len(entries) == 1, [e.changes for e in entries]
    return entries[0]


def paid_invoice(customer, amount="300.00", number="F-1"):
    invoice = InvoiceFactory(number=number, customer=customer, amount=Decimal(amount))
    payment = PaymentFactory(customer=customer, amount=Decimal(amount), currency=invoice.currency)
    allocate(payment=payment, invoice=invoice, amount=Decimal(amount))
    Entry.objects.all().delete()  # start each test from an empty trail
    return invoice


# --- Each entry point names who and through what -------------------------------------------------


def test_credit_control_through_the_api_records_the_token_user_before_and_after(credit_manager):
    customer = CustomerFactory(account_number="ACC-1")
    response = client_for(credit_manager).patch(
        f"/api/v1/customers/{customer.pk}/credit-control/", {"credit_hold": True}, format="json"
    )
    assert response.status_code == 200
    entry = only_entry(customer)
    assert (entry.actor, entry.by_token, entry.channel) == (credit_manager, True, Channel.API)
    assert entry.changes == {"credit_hold": ["False", "True"]}
    assert entry.customer_id == customer.pk


def test_assigning_a_collector_through_the_api_records_old_and_new_collector(credit_manager):
    anna = UserFactory(username="anna", role="collector")
    UserFactory(username="ben", role="collector")
    customer = CustomerFactory(collector=anna)
    Entry.objects.all().delete()
    response = client_for(credit_manager).patch(
        f"/api/v1/customers/{customer.pk}/credit-control/", {"collector": "ben"}, format="json"
    )
    assert response.status_code == 200
    entry = only_entry(customer)
    assert entry.changes == {"collector": ["anna", "ben"]}
    assert (entry.actor, entry.channel) == (credit_manager, Channel.API)


def test_assigning_a_collector_on_the_worklist_page_records_the_signed_in_user(client, credit_manager):
    ben = UserFactory(username="ben", role="collector")
    customer = CustomerFactory()
    Entry.objects.all().delete()
    client.force_login(credit_manager)
    client.post(reverse("calls:assign"), {"customers": [customer.pk], "collector": ben.pk})
    entry = only_entry(customer)
    assert entry.changes == {"collector": ["None", "ben"]}
    assert (entry.actor, entry.by_token, entry.channel) == (credit_manager, False, Channel.PAGE)


def test_resolving_a_complaint_on_its_page_records_the_resolution_and_the_invoice_status(
    client, credit_manager
):
    customer = CustomerFactory()
    invoice = InvoiceFactory(customer=customer, status="disputed")
    complaint = ComplaintFactory(customer=customer, opened_on=TODAY - dt.timedelta(days=3))
    complaint.invoices.add(invoice)
    Entry.objects.all().delete()
    client.force_login(credit_manager)
    url = reverse("calls:complaint-resolve", args=[complaint.pk])
    client.post(url, {"outcome": "upheld", "cancel_invoices": "on"})
    resolution = only_entry(complaint)
    assert resolution.changes["outcome"] == ["", "upheld"]
    assert resolution.changes["resolved_by"] == ["None", "cm"]
    assert (resolution.actor, resolution.channel) == (credit_manager, Channel.PAGE)
    status = only_entry(invoice)
    assert status.changes == {"status": ["disputed", "cancelled"]}
    assert status.customer_id == customer.pk


def test_an_invoice_status_set_through_the_api_is_recorded(credit_manager):
    invoice = InvoiceFactory()
    response = client_for(credit_manager).post(
        f"/api/v1/invoices/{invoice.pk}/status/", {"status": "written_off"}, format="json"
    )
    assert response.status_code == 200, response.content
    entry = only_entry(invoice)
    assert entry.changes == {"status": ["open", "written_off"]}
    assert (entry.actor, entry.by_token, entry.channel) == (credit_manager, True, Channel.API)


def test_opening_a_complaint_records_each_invoice_becoming_disputed():
    customer = CustomerFactory()
    invoices = InvoiceFactory.create_batch(2, customer=customer)
    open_complaint(
        customer=customer,
        complaint=ComplaintInput(category="pricing", description="Wrong price"),
        invoices=invoices,
        today=TODAY,
        actor=SYSTEM,
    )
    for invoice in invoices:
        entry = only_entry(invoice)
        assert entry.changes == {"status": ["open", "disputed"]}
        assert (entry.actor, entry.channel) == (None, Channel.SYSTEM)


def test_confirming_a_proposal_in_the_admin_records_the_hold_through_admin(client, credit_manager):
    credit_manager.is_staff = True
    credit_manager.save()
    proposal = ProposalFactory(kind="credit_hold")
    Entry.objects.all().delete()
    client.force_login(credit_manager)
    response = client.post(
        reverse("admin:dunning_proposal_changelist"),
        {"action": "confirm_proposals", "_selected_action": [proposal.pk]},
    )
    assert response.status_code == 302
    entry = only_entry(proposal.customer)
    assert entry.changes == {"credit_hold": ["False", "True"]}
    assert (entry.actor, entry.channel) == (credit_manager, Channel.ADMIN)


def test_the_dunning_run_command_records_broken_agreements_as_system():
    ensure_standard_policy()
    agreement = AgreementFactory(made_on=TODAY - dt.timedelta(days=20))
    InstalmentFactory(agreement=agreement, due_date=TODAY - dt.timedelta(days=10))
    Entry.objects.all().delete()
    call_command("run_dunning", "--date", TODAY.isoformat(), "--summary-only")
    entry = only_entry(agreement)
    assert entry.changes == {"state": ["active", "broken"], "closed_on": ["None", TODAY.isoformat()]}
    assert (entry.actor, entry.actor_name, entry.channel) == (None, "", Channel.COMMAND)
    assert entry.who == "system" and entry.customer_id == agreement.customer_id


def test_a_celery_task_records_its_changes_through_task():
    ensure_standard_policy()
    agreement = AgreementFactory(made_on=TODAY - dt.timedelta(days=20))
    InstalmentFactory(agreement=agreement, due_date=TODAY - dt.timedelta(days=10))
    Entry.objects.all().delete()
    run_dunning_batch.apply(args=([agreement.customer_id], TODAY.isoformat()))
    entry = only_entry(agreement)
    assert (entry.actor, entry.channel) == (None, Channel.TASK)


def test_creating_and_cancelling_an_agreement_through_the_api_are_both_recorded(credit_manager):
    customer = CustomerFactory(account_number="ACC-1")
    client = client_for(credit_manager)
    due = (TODAY + dt.timedelta(days=7)).isoformat()
    body = {"customer": "ACC-1", "kind": "promise", "made_on": TODAY.isoformat(),
            "instalments": [{"due_date": due, "amount": "100.00"}]}  # fmt: skip
    created = client.post("/api/v1/agreements/", body, format="json")
    assert created.status_code == 201, created.content
    cancelled = client.post(f"/api/v1/agreements/{created.json()['id']}/cancel/", format="json")
    assert cancelled.status_code == 200, cancelled.content
    entries = Entry.objects.filter(content_type__model="agreement", customer_id=customer.pk).order_by("id")
    assert [e.get_action_display() for e in entries] == ["create", "update"]
    assert entries[1].changes["state"] == ["active", "cancelled"]
    assert {(e.actor, e.channel, e.by_token) for e in entries} == {(credit_manager, Channel.API, True)}


def test_worth_it_weights_changed_by_a_credit_manager_are_recorded(credit_manager):
    update_worth_it_settings(revenue_weight=Decimal("60"), actor=credit_manager)
    Entry.objects.all().delete()
    with audit_context(channel=Channel.PAGE, user=credit_manager):
        settings = update_worth_it_settings(revenue_weight=Decimal("70"), actor=credit_manager)
    entry = only_entry(settings)
    assert list(entry.changes) == ["revenue_weight"]
    assert [Decimal(value) for value in entry.changes["revenue_weight"]] == [60, 70]
    assert entry.actor == credit_manager and entry.customer_id is None


def test_a_dunning_template_change_is_recorded_with_before_and_after():
    step = ensure_standard_policy().steps.order_by("offset_days").first()
    before = step.subject_template
    step.subject_template = "Reminder: {{ invoice_count }} invoices"
    step.save()
    assert only_entry(step).changes == {"subject_template": [before, step.subject_template]}


def test_giving_and_taking_a_role_is_recorded_on_the_user(credit_manager):
    user = UserFactory(username="newbie")
    group = Group.objects.get(name="Collector")
    with audit_context(channel=Channel.ADMIN, user=credit_manager):
        user.groups.add(group)
        user.groups.remove(group)
    entries = sorted(entries_of(user), key=lambda e: e.pk)
    assert [e.changes["groups"]["operation"] for e in entries] == ["add", "delete"]
    assert entries[0].changes["groups"]["objects"] == ["Collector"]
    assert {(e.actor, e.channel) for e in entries} == {(credit_manager, Channel.ADMIN)}


# --- Same transaction -----------------------------------------------------------------------------


def test_a_change_rolled_back_leaves_no_entry(credit_manager):
    customer = CustomerFactory()
    Entry.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        set_credit_hold(customer=customer, on_hold=True, actor=credit_manager)
        assert len(entries_of(customer)) == 1  # written inside the change's transaction...
        raise RuntimeError("the request failed after the change")
    assert entries_of(customer) == []  # ...and gone with it


def test_an_api_request_that_fails_records_nothing(credit_manager):
    customer = CustomerFactory(account_number="ACC-1")
    Entry.objects.all().delete()
    response = client_for(credit_manager).patch(
        f"/api/v1/customers/{customer.pk}/credit-control/",
        {"credit_hold": True, "collector": "nobody-of-that-name"},
        format="json",
    )
    assert response.status_code == 400
    assert entries_of(customer) == []


# --- Bulk writes: one entry per invoice whose status changed --------------------------------------


def test_a_bulk_invoice_sync_records_only_the_status_changes_it_makes(integrator):
    customer = CustomerFactory(account_number="ACC-1")
    invoice = paid_invoice(customer)
    item = {"number": "F-1", "customer": "ACC-1", "issue_date": "2026-10-01", "due_date": "2026-10-31",
            "currency": "EUR"}  # fmt: skip
    items = [{**item, "amount": "400.00"}, {**item, "number": "NEW-1", "amount": "50.00"}]
    response = client_for(integrator).post("/api/v1/invoices/bulk/", {"invoices": items}, format="json")
    assert response.status_code == 200, response.content
    entry = only_entry(invoice)
    assert entry.changes == {"status": ["paid", "open"]}
    assert (entry.actor, entry.by_token, entry.channel) == (integrator, True, Channel.API)
    assert Entry.objects.count() == 1  # the new invoice is not a status change


def test_a_bulk_payment_sync_records_each_invoice_it_pays(integrator):
    customer = CustomerFactory(account_number="ACC-1")
    invoices = [InvoiceFactory(customer=customer, number=f"F-{n}", amount=Decimal("100.00")) for n in (1, 2)]
    payment = {"customer": "ACC-1", "reference": "BANK-1", "received_on": "2026-11-20", "amount": "150.00",
               "currency": "EUR", "allocations": [{"invoice": "F-1", "amount": "100.00"},
                                                  {"invoice": "F-2", "amount": "50.00"}]}  # fmt: skip
    response = client_for(integrator).post("/api/v1/payments/bulk/", {"payments": [payment]}, format="json")
    assert response.status_code == 200, response.content
    assert only_entry(invoices[0]).changes == {"status": ["open", "paid"]}
    assert entries_of(invoices[1]) == []  # still open: no change to record


def test_a_csv_import_records_status_changes_as_system_through_import(tmp_path):
    customer = CustomerFactory(account_number="ACC-1")
    invoice = paid_invoice(customer)
    path = tmp_path / "invoices.csv"
    path.write_text(
        "number,account_number,issue_date,due_date,amount,currency\n"
        "F-1,ACC-1,2026-10-01,2026-10-31,500.00,EUR\nF-2,ACC-1,2026-10-01,2026-10-31,10.00,EUR\n"
    )
    call_command("import_invoices", str(path), "--no-progress")
    assert Invoice.objects.get(number="F-1").status == "open"
    entry = only_entry(invoice)
    assert (entry.changes, entry.actor, entry.channel) == ({"status": ["paid", "open"]}, None, Channel.IMPORT)
    assert Entry.objects.count() == 1


# --- Who may read the trail ----------------------------------------------------------------------


def history_fixture():
    customer = CustomerFactory(account_number="ACC-1")
    invoice = InvoiceFactory(customer=customer)
    other = CustomerFactory(account_number="ACC-2")
    manager = UserFactory(username="history-manager", role="credit_manager")
    Entry.objects.all().delete()
    set_credit_hold(customer=customer, on_hold=True, actor=manager)
    with audit_context(channel=Channel.PAGE):
        invoice_status(invoice, "written_off", manager)
    set_credit_hold(customer=other, on_hold=True, actor=manager)
    return customer


def invoice_status(invoice, status, actor):
    from invoices.services import set_invoice_status

    set_invoice_status(invoice=invoice, status=status, actor=actor)


def test_the_history_api_lists_the_customers_entries_newest_first_in_pages(credit_manager):
    customer = history_fixture()
    response = client_for(credit_manager).get(f"/api/v1/customers/{customer.pk}/history/?page_size=1")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2 and body["next"]
    newest = body["results"][0]
    assert newest["record_type"] == "invoice" and newest["via"] == "page" and newest["who"] == "system"
    assert newest["changes"] == [{"field": "status", "before": "open", "after": "written_off"}]
    older = client_for(credit_manager).get(body["next"]).json()["results"][0]
    assert older["record_type"] == "customer"
    assert older["changes"] == [{"field": "credit_hold", "before": "False", "after": "True"}]


@pytest.mark.parametrize("role", ["collector", "finance_lead", "integrator"])
def test_the_history_api_refuses_every_role_but_credit_managers(role):
    customer = history_fixture()
    user = UserFactory(username=f"u-{role}", role=role)
    customer.collector = user if role == "collector" else None
    customer.save()
    response = client_for(user).get(f"/api/v1/customers/{customer.pk}/history/")
    assert response.status_code == 403


def test_the_history_api_has_no_write_methods(credit_manager):
    customer = history_fixture()
    client = client_for(credit_manager)
    url = f"/api/v1/customers/{customer.pk}/history/"
    answers = {client.post(url).status_code, client.delete(url).status_code, client.put(url).status_code}
    assert answers == {405}
    assert Entry.objects.count() == 3


def test_the_history_is_one_indexed_query_on_the_customer(credit_manager):
    customer = history_fixture()
    assert any(index.fields[0] == "customer_id" for index in Entry._meta.indexes)
    from audit.selectors import customer_history

    with CaptureQueriesContext(connection) as queries:
        list(customer_history(customer_id=customer.pk)[:50])
    assert len(queries) == 1
    sql = queries[0]["sql"]
    assert '"customer_id" = ' in sql and "changes" not in sql.split("WHERE")[1]


def test_the_schema_documents_the_history_endpoint(credit_manager):
    schema = client_for(credit_manager).get("/api/v1/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/customers/{id}/history/"]["get"]
    assert "200" in operation["responses"] and "403" in operation["responses"]
    assert set(schema["paths"]["/api/v1/customers/{id}/history/"]) == {"get"}


def test_the_customer_page_shows_changes_to_credit_managers_only(client, credit_manager):
    customer = history_fixture()
    client.force_login(credit_manager)
    page = client.get(reverse("calls:customer-detail", args=[customer.pk])).content.decode()
    assert 'data-testid="changes"' in page and "credit_hold" in page and "written_off" in page
    collector = UserFactory(username="col2", role="collector")
    customer.collector = collector
    customer.save()
    client.force_login(collector)
    page = client.get(reverse("calls:customer-detail", args=[customer.pk])).content.decode()
    assert 'data-testid="changes"' not in page


@pytest.mark.parametrize("role", ["collector", "finance_lead", "integrator"])
def test_the_changes_page_refuses_every_role_but_credit_managers(client, role):
    customer = history_fixture()
    user = UserFactory(username=f"p-{role}", role=role)
    customer.collector = user if role == "collector" else None
    customer.save()
    client.force_login(user)
    assert client.get(reverse("calls:customer-changes", args=[customer.pk])).status_code == 403


def test_the_changes_page_pages_older_entries_for_credit_managers(client, credit_manager):
    customer = history_fixture()
    for on_hold in [False, True] * 15:
        set_credit_hold(customer=customer, on_hold=on_hold, actor=credit_manager)
    client.force_login(credit_manager)
    detail = client.get(reverse("calls:customer-detail", args=[customer.pk])).content.decode()
    assert reverse("calls:customer-changes", args=[customer.pk]) in detail  # "older changes" link
    second = client.get(reverse("calls:customer-changes", args=[customer.pk]) + "?page=2")
    assert second.status_code == 200 and "credit_hold" in second.content.decode()


# --- Nobody edits or deletes the trail -----------------------------------------------------------


def test_the_admin_shows_entries_read_only_and_refuses_add_change_and_delete(client):
    history_fixture()
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    entry = Entry.objects.first()
    assert client.get(reverse("admin:audit_entry_changelist")).status_code == 200
    view = client.get(reverse("admin:audit_entry_change", args=[entry.pk]))
    assert view.status_code == 200 and 'name="_save"' not in view.content.decode()
    assert client.get(reverse("admin:audit_entry_add")).status_code == 403
    change_url = reverse("admin:audit_entry_change", args=[entry.pk])
    assert client.post(change_url, {"changes": "{}"}).status_code == 403
    delete_url = reverse("admin:audit_entry_delete", args=[entry.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    bulk_delete = client.post(
        reverse("admin:audit_entry_changelist"), {"action": "delete_selected", "_selected_action": [entry.pk]}
    )
    assert bulk_delete.status_code in (200, 302)
    assert Entry.objects.filter(pk=entry.pk).exists() and Entry.objects.count() == 3
