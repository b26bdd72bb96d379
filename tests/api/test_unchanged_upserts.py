"""A repeated identical PUT writes nothing; a changed one writes only the fields that changed."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Customer
from invoices.models import Invoice
from tests.factories import CustomerFactory, SegmentFactory

pytestmark = pytest.mark.django_db

CUSTOMER = {
    "name": "Bakkerij Jansen & Zn",
    "segment": "SME",
    "currency": "EUR",
    "payment_terms_days": 14,
    "credit_limit": "5000.00",
    "email": "ap@jansen.example",
    "city": "Utrecht",
    "country": "NL",
}
INVOICE = {
    "customer": "ACC-1",
    "issue_date": "2026-11-01",
    "due_date": "2026-12-01",
    "amount": "1250.00",
    "currency": "EUR",
    "description": "Pallets",
}


# Precomputed per-customer figures that follow a change in the same transaction (customers.signals):
# a changed due date rightly restates the worklist standing and marks the reports' snapshots from its
# issue date stale; what is checked here is the record itself.
DERIVED_TABLES = (
    '"calls_standing"',
    '"reports_snapshotday"',
    '"reports_snapshotmonth"',
    '"reports_worthitscore"',
    '"reports_earlywarning"',
    '"reports_latenessbin"',
    '"reports_debtbandstanding"',
    '"reports_keptforecast"',
    '"reports_forecastspread"',
)


def writes(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))
        and not any(table in q["sql"].split("(")[0].split(" SET ")[0] for table in DERIVED_TABLES)
    ]


def put(client, url: str, body: dict):
    with CaptureQueriesContext(connection) as queries:
        response = client.put(url, body, format="json")
    assert response.status_code in (200, 201), response.json()
    return response, writes(queries.captured_queries)


def test_putting_the_same_customer_again_writes_nothing(as_manager):
    SegmentFactory(name="SME")
    url = "/api/v1/customers/by-account/ERP-77/"
    put(as_manager, url, CUSTOMER)
    stamp = Customer.objects.get(account_number="ERP-77").updated_at
    response, written = put(as_manager, url, {**CUSTOMER, "credit_limit": "5000"})  # same amount
    assert response.status_code == 200 and written == []
    assert Customer.objects.get(account_number="ERP-77").updated_at == stamp


def test_a_changed_customer_writes_only_the_changed_fields(as_manager):
    SegmentFactory(name="SME")
    url = "/api/v1/customers/by-account/ERP-78/"
    put(as_manager, url, CUSTOMER)
    stamp = Customer.objects.get(account_number="ERP-78").updated_at
    _, written = put(as_manager, url, {**CUSTOMER, "city": "Amersfoort"})
    assert len(written) == 1
    assigned = written[0].split(" SET ", 1)[1].split(" WHERE ", 1)[0]
    assert '"city"' in assigned and '"updated_at"' in assigned and '"name"' not in assigned
    customer = Customer.objects.get(account_number="ERP-78")
    assert customer.city == "Amersfoort" and customer.updated_at > stamp


def test_putting_the_same_invoice_again_writes_nothing(as_integrator):
    CustomerFactory(account_number="ACC-1")
    url = "/api/v1/invoices/by-number/F-1/"
    put(as_integrator, url, INVOICE)
    stamp = Invoice.objects.get(number="F-1").updated_at
    response, written = put(as_integrator, url, {**INVOICE, "amount": "1250.0"})
    assert response.status_code == 200 and written == []
    assert Invoice.objects.get(number="F-1").updated_at == stamp


def test_a_changed_invoice_writes_only_the_changed_fields(as_integrator):
    CustomerFactory(account_number="ACC-1")
    url = "/api/v1/invoices/by-number/F-2/"
    put(as_integrator, url, INVOICE)
    _, written = put(as_integrator, url, {**INVOICE, "due_date": "2026-12-15"})
    assert len(written) == 1
    assigned = written[0].split(" SET ", 1)[1].split(" WHERE ", 1)[0]
    assert '"due_date"' in assigned and '"updated_at"' in assigned and '"amount"' not in assigned
    invoice = Invoice.objects.get(number="F-2")
    assert str(invoice.due_date) == "2026-12-15" and invoice.amount == Decimal("1250.00")
