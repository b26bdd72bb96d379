"""The customer page's position (open, overdue, disputed and aging per currency) is summed from the
open invoices it lists when that list is whole, and equals the SQL totals either way."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calls.selectors import open_invoices_of, open_position_of, position_of
from tests.factories import TODAY, CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


def ledger_of_every_kind(customer) -> None:
    """Two currencies, an invoice on each side of every aging boundary, disputed, part-paid, paid
    and cancelled ones."""
    for currency in ("EUR", "USD"):
        for days_late in (-10, 0, 1, 30, 31, 60, 61, 90, 91, 400):
            InvoiceFactory(
                customer=customer,
                currency=currency,
                due_date=TODAY - dt.timedelta(days=days_late),
                amount=Decimal("100.10") + days_late,
            )
        for days_late in (-5, 45):
            InvoiceFactory(
                customer=customer,
                currency=currency,
                status="disputed",
                due_date=TODAY - dt.timedelta(days=days_late),
                amount=Decimal("70.05"),
            )
        InvoiceFactory(
            customer=customer, currency=currency, amount=Decimal("500.00"), allocated_amount=Decimal("120.45")
        )
        InvoiceFactory(
            customer=customer,
            currency=currency,
            status="paid",
            amount=Decimal("300.00"),
            allocated_amount=Decimal("300.00"),
        )
        InvoiceFactory(
            customer=customer, currency=currency, status="cancelled", due_date=TODAY - dt.timedelta(days=50)
        )


def test_the_position_summed_from_the_listed_invoices_equals_the_sql_totals():
    customer = CustomerFactory()
    ledger_of_every_kind(customer)
    CustomerFactory()  # another customer's invoices stay out
    InvoiceFactory(due_date=TODAY - dt.timedelta(days=40))
    with CaptureQueriesContext(connection) as read:
        invoices, positions = open_position_of(customer, today=TODAY)
    assert len(read.captured_queries) == 1  # the invoices; the totals come from them
    assert [invoice.pk for invoice in invoices] == [i.pk for i in open_invoices_of(customer, today=TODAY)]
    assert positions == position_of(customer, today=TODAY)
    eur = positions[0]
    assert [p.currency for p in positions] == ["EUR", "USD"]
    assert eur.disputed_amount == Decimal("140.10")
    assert eur.buckets["1-30"] == Decimal("101.10") + Decimal("130.10")
    assert eur.buckets["31-60"] == Decimal("131.10") + Decimal("160.10") + Decimal(
        "70.05"
    )  # disputed ages too
    assert eur.overdue_amount == sum(eur.buckets.values()) - eur.buckets["current"] - Decimal("70.05")


def test_a_list_cut_at_its_limit_reads_the_totals_in_sql():
    customer = CustomerFactory()
    ledger_of_every_kind(customer)
    invoices, positions = open_position_of(customer, today=TODAY, limit=5)
    assert len(invoices) == 5
    assert positions == position_of(customer, today=TODAY)
    assert sum(p.open_amount for p in positions) > sum(i.open_amount for i in invoices)
