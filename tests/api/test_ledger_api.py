"""Customers, invoices and payments through the API: upsert by key, bulk sync, validation."""

import datetime as dt
from decimal import Decimal

import pytest

from customers.models import Customer
from invoices.models import Allocation, Invoice, Payment
from tests.factories import TODAY, CustomerFactory, InvoiceFactory, PaymentFactory, SegmentFactory

pytestmark = pytest.mark.django_db


def invoice_body(account="ACC-1", **changes):
    body = {
        "customer": account,
        "issue_date": "2026-11-01",
        "due_date": "2026-12-01",
        "amount": "1250.00",
        "currency": "EUR",
        "description": "Pallets",
    }
    return {**body, **changes}


def bulk_items(count, account="ACC-1", prefix="B"):
    return [
        {"number": f"{prefix}-{n:05d}", **invoice_body(account, amount=f"{100 + n}.00")} for n in range(count)
    ]


@pytest.fixture
def customer(db):
    return CustomerFactory(account_number="ACC-1")


def test_put_by_account_creates_then_updates_the_customer(as_manager):
    SegmentFactory(name="SME")
    body = {"name": "Bakkerij Jansen", "segment": "SME", "currency": "EUR", "credit_limit": "5000.00"}
    created = as_manager.put("/api/v1/customers/by-account/ERP-77/", body, format="json")
    assert created.status_code == 201
    assert created.json()["segment"] == "SME" and created.json()["credit_limit"] == "5000.00"
    updated = as_manager.put(
        "/api/v1/customers/by-account/ERP-77/", {"credit_limit": "7500.00"}, format="json"
    )
    assert updated.status_code == 200
    customer = Customer.objects.get(account_number="ERP-77")
    assert customer.credit_limit == Decimal("7500.00") and customer.name == "Bakkerij Jansen"


def test_an_integrator_syncs_master_data_but_not_credit_limit_or_segment(as_integrator, as_manager):
    SegmentFactory(name="SME")
    body = {"name": "Bakkerij Jansen", "currency": "EUR", "city": "Delft"}
    assert as_integrator.put("/api/v1/customers/by-account/ERP-78/", body, format="json").status_code == 201
    customer = Customer.objects.get(account_number="ERP-78")
    decided = {"credit_limit": "9000.00", "segment": "SME"}
    refused = as_integrator.put("/api/v1/customers/by-account/ERP-78/", {**body, **decided}, format="json")
    assert refused.status_code == 400
    assert set(refused.json()) == {"credit_limit", "segment"}
    assert "credit manager" in refused.json()["credit_limit"][0]
    created = as_integrator.post("/api/v1/customers/", {**body, "account_number": "ERP-79", **decided})
    assert created.status_code == 400 and not Customer.objects.filter(account_number="ERP-79").exists()
    customer.refresh_from_db()
    assert customer.credit_limit == Decimal("0") and customer.segment is None
    path = f"/api/v1/customers/{customer.pk}/credit-control/"
    assert as_integrator.patch(path, decided, format="json").status_code == 403
    moved = as_manager.patch(path, decided, format="json")
    assert moved.status_code == 200 and moved.json()["credit_limit"] == "9000.00"
    assert moved.json()["segment"] == "SME"


def test_a_customer_sync_cannot_undo_a_credit_hold(as_integrator, as_manager):
    customer = CustomerFactory(account_number="HOLD-1")
    as_manager.patch(f"/api/v1/customers/{customer.pk}/credit-control/", {"credit_hold": True}, format="json")
    body = {"name": "Renamed", "credit_hold": False}
    response = as_integrator.put("/api/v1/customers/by-account/HOLD-1/", body, format="json")
    assert response.status_code == 200 and response.json()["credit_hold"] is True


def test_credit_control_assigns_a_collector_by_username(as_manager, collector):
    customer = CustomerFactory()
    response = as_manager.patch(
        f"/api/v1/customers/{customer.pk}/credit-control/",
        {"collector": "col", "dunning_paused_until": "2026-12-24"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["collector"] == "col" and response.json()["dunning_paused_until"] == "2026-12-24"


def test_put_by_number_creates_updates_and_leaves_an_equal_invoice_untouched(as_integrator, customer):
    created = as_integrator.put("/api/v1/invoices/by-number/F-2026-1/", invoice_body(), format="json")
    assert created.status_code == 201 and created.json()["open_amount"] == "1250.00"
    stamp = Invoice.objects.get(number="F-2026-1").updated_at
    again = as_integrator.put("/api/v1/invoices/by-number/F-2026-1/", invoice_body(), format="json")
    assert again.status_code == 200
    assert Invoice.objects.get(number="F-2026-1").updated_at == stamp  # untouched: nothing written
    changed = as_integrator.put(
        "/api/v1/invoices/by-number/F-2026-1/", invoice_body(amount="900.00"), format="json"
    )
    assert changed.status_code == 200 and changed.json()["amount"] == "900.00"
    assert Invoice.objects.get(number="F-2026-1").updated_at > stamp


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"amount": "-5.00"}, "amount", "greater than or equal to 0.01"),
        ({"amount": "lots"}, "amount", "A valid number is required."),
        ({"due_date": "2026-10-01"}, "due_date", "The due date cannot be before the issue date."),
        ({"issue_date": "01/11/2026"}, "issue_date", "Date has wrong format"),
        ({"currency": "EUX"}, "currency", "is not a valid choice"),
        ({"customer": "NOBODY"}, "customer", "No customer with account number NOBODY."),
        ({"customer": 12}, "customer", "No customer with account number 12."),
    ],
)
def test_a_bad_invoice_is_a_400_naming_the_field_and_nothing_is_written(
    as_integrator, customer, changes, field, message
):
    response = as_integrator.put("/api/v1/invoices/by-number/BAD-1/", invoice_body(**changes), format="json")
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert not Invoice.objects.exists()


def test_an_invoice_cannot_drop_below_what_is_paid(as_integrator, as_manager, customer):
    as_integrator.put("/api/v1/invoices/by-number/F-9/", invoice_body(amount="100.00"), format="json")
    payment = {
        "customer": "ACC-1",
        "reference": "P-9",
        "received_on": "2026-11-20",
        "amount": "80.00",
        "currency": "EUR",
        "allocations": [{"invoice": "F-9", "amount": "80.00"}],
    }
    assert as_integrator.post("/api/v1/payments/", payment, format="json").status_code == 201
    response = as_integrator.put(
        "/api/v1/invoices/by-number/F-9/", invoice_body(amount="50.00"), format="json"
    )
    assert response.status_code == 400 and "amount" in response.json()


def test_bulk_upsert_writes_every_invoice_and_a_resend_changes_nothing(as_integrator, customer):
    response = as_integrator.post("/api/v1/invoices/bulk/", {"invoices": bulk_items(300)}, format="json")
    assert response.status_code == 200
    assert response.json() == {"created": 300, "updated": 0, "unchanged": 0}
    items = bulk_items(300)
    items[0]["amount"] = "999.00"
    again = as_integrator.post("/api/v1/invoices/bulk/", {"invoices": items}, format="json")
    assert again.json() == {"created": 0, "updated": 1, "unchanged": 299}
    assert Invoice.objects.get(number="B-00000").amount == Decimal("999.00")


def test_bulk_with_one_bad_item_writes_nothing_and_names_the_item(as_integrator, customer):
    items = bulk_items(50)
    items[17]["due_date"] = "2026-01-01"
    items[30]["customer"] = "GHOST"
    items[42]["amount"] = "abc"
    response = as_integrator.post("/api/v1/invoices/bulk/", {"invoices": items}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "3 of 50 item(s) are invalid; nothing was written."
    assert [(e["index"], e["key"], list(e["errors"])) for e in body["errors"]] == [
        (17, "B-00017", ["due_date"]),
        (30, "B-00030", ["customer"]),
        (42, "B-00042", ["amount"]),
    ]
    assert not Invoice.objects.exists()


def test_bulk_refuses_more_than_5000_items_and_duplicates(as_integrator, customer):
    too_many = as_integrator.post("/api/v1/invoices/bulk/", {"invoices": [{}] * 5001}, format="json")
    assert too_many.status_code == 400 and "invoices" in too_many.json()
    twice = bulk_items(2)
    twice[1]["number"] = twice[0]["number"]
    response = as_integrator.post("/api/v1/invoices/bulk/", {"invoices": twice}, format="json")
    assert response.json()["errors"][0]["errors"]["number"] == ["Invoice B-00000 appears more than once."]


def test_payment_with_allocations_pays_the_invoice_and_a_resend_returns_it(as_integrator, customer):
    InvoiceFactory(number="F-1", customer=customer, amount=Decimal("300.00"))
    body = {
        "customer": "ACC-1",
        "reference": "BANK-1",
        "received_on": "2026-11-20",
        "amount": "300.00",
        "currency": "EUR",
        "allocations": [{"invoice": "F-1", "amount": "300.00"}],
    }
    first = as_integrator.post("/api/v1/payments/", body, format="json")
    assert first.status_code == 201 and first.json()["allocations"] == [
        {"invoice": "F-1", "amount": "300.00"}
    ]
    assert Invoice.objects.get(number="F-1").status == "paid"
    second = as_integrator.post("/api/v1/payments/", body, format="json")
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    assert Allocation.objects.count() == 1


def test_allocation_over_the_open_amount_is_refused_whole(as_integrator, customer):
    InvoiceFactory(number="F-2", customer=customer, amount=Decimal("100.00"))
    body = {
        "customer": "ACC-1",
        "reference": "BANK-2",
        "received_on": "2026-11-20",
        "amount": "500.00",
        "currency": "EUR",
        "allocations": [{"invoice": "F-2", "amount": "150.00"}],
    }
    response = as_integrator.post("/api/v1/payments/", body, format="json")
    assert response.status_code == 400
    assert "exceeds the open amount of invoice F-2" in response.json()["allocations[0]"][0]
    assert not Payment.objects.exists()


def test_bulk_payments_allocate_and_refuse_paying_an_invoice_twice(as_integrator, customer):
    InvoiceFactory(number="F-3", customer=customer, amount=Decimal("100.00"))
    pay = {
        "customer": "ACC-1",
        "received_on": "2026-11-20",
        "amount": "100.00",
        "currency": "EUR",
        "allocations": [{"invoice": "F-3", "amount": "100.00"}],
    }
    twice = [{**pay, "reference": "A"}, {**pay, "reference": "B"}]
    refused = as_integrator.post("/api/v1/payments/bulk/", {"payments": twice}, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["index"] == 1 and not Payment.objects.exists()
    accepted = as_integrator.post("/api/v1/payments/bulk/", {"payments": twice[:1]}, format="json")
    assert accepted.json() == {"created": 1, "updated": 0, "unchanged": 0}
    invoice = Invoice.objects.get(number="F-3")
    assert invoice.allocated_amount == Decimal("100.00") and invoice.status == "paid"
    resent = as_integrator.post("/api/v1/payments/bulk/", {"payments": twice[:1]}, format="json")
    assert resent.json() == {"created": 0, "updated": 0, "unchanged": 1}


def test_invoice_list_filters_overdue_and_pages_by_cursor(as_finance, customer):
    for n in range(7):
        InvoiceFactory(number=f"L-{n}", customer=customer, due_date=TODAY - dt.timedelta(days=n * 10))
    PaymentFactory(customer=customer)
    first = as_finance.get("/api/v1/invoices/", {"page_size": 3, "overdue": "true"}).json()
    assert len(first["results"]) == 3 and first["next"]
    rest = as_finance.get(first["next"]).json()
    numbers = [row["number"] for row in first["results"] + rest["results"]]
    assert sorted(numbers) == [f"L-{n}" for n in range(1, 7)]
    bad = as_finance.get("/api/v1/invoices/", {"due_date_after": "soon"})
    assert bad.status_code == 400 and "due_date" in bad.json()


def test_invoice_status_can_be_disputed_but_not_set_to_paid(as_manager, customer):
    invoice = InvoiceFactory(customer=customer)
    disputed = as_manager.post(
        f"/api/v1/invoices/{invoice.pk}/status/", {"status": "disputed"}, format="json"
    )
    assert disputed.status_code == 200 and disputed.json()["status"] == "disputed"
    paid = as_manager.post(f"/api/v1/invoices/{invoice.pk}/status/", {"status": "paid"}, format="json")
    assert paid.status_code == 400 and "status" in paid.json()
