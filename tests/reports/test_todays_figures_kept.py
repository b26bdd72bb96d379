"""Today's figures no snapshot holds (the open invoices, this month's sales) are read once for the
whole ledger, kept under the ledger's stamp, and every section and filter is summed from that read
(reports/snapshots.py `_kept_for_today`): the same figures as each scope read for itself."""

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.core.cache import cache
from django.utils import timezone

from customers.models import Customer
from customers.signals import announce_change
from invoices.services import allocate
from reports import snapshots
from reports.ledger import LedgerScope, ledger_breakdown, ledger_trend
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory, SegmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept(settings):
    settings.REPORTS_CACHE_SECONDS = 60
    cache.clear()
    yield settings
    cache.clear()


@pytest.fixture
def ledger():
    """Two segments, two collectors and a customer with neither, in EUR and USD: an invoice in every
    aging bucket today, some part paid, one cancelled, one issued this month."""
    today = timezone.localdate()
    smes, keys = SegmentFactory(name="SME"), SegmentFactory(name="Key accounts")
    ann, bob = UserFactory(username="ann", role="collector"), UserFactory(username="bob", role="collector")
    customers = [
        CustomerFactory(currency="EUR", segment=smes, collector=ann),
        CustomerFactory(currency="EUR", segment=keys, collector=bob),
        CustomerFactory(currency="USD", segment=smes, collector=bob),
        CustomerFactory(currency="EUR", segment=None, collector=None),
    ]
    for number, customer in enumerate(customers):
        for overdue_days in (-10, 5, 40, 75, 200):
            due = today - dt.timedelta(days=overdue_days + number)
            invoice = InvoiceFactory(
                customer=customer, issue_date=due - dt.timedelta(days=30), due_date=due,
                amount=Decimal(1000 + 10 * overdue_days + number),
            )  # fmt: skip
            if overdue_days in (5, 75):
                payment = PaymentFactory(customer=customer, amount=Decimal("123.45"), received_on=today)
                allocate(payment=payment, invoice=invoice, amount=Decimal("123.45"))
        InvoiceFactory(customer=customer, status="cancelled", issue_date=today, due_date=today)
        this_month = today.replace(day=1)
        InvoiceFactory(customer=customer, issue_date=this_month, due_date=today + dt.timedelta(days=30))
    return {"today": today, "smes": smes, "ann": ann, "bob": bob, "customers": customers}


def scopes(ledger):
    return [
        LedgerScope(),
        LedgerScope(currency="USD"),
        LedgerScope(segment_id=ledger["smes"].pk),
        LedgerScope(collector_id=ledger["bob"].pk, currency="EUR"),
        LedgerScope(group_by="segment"),
        LedgerScope(group_by="collector", currency="EUR"),
        LedgerScope(group_by="segment_and_collector", segment_id=ledger["smes"].pk),
    ]


def figures(today, scope):
    trend = ledger_trend(today, scope=scope, points=3)
    _, by_segment, by_collector = ledger_breakdown(today, scope=scope, points=1)
    described = {day: [f.as_dict() for f in rows] for day, rows in trend.items()}
    return described, [f.as_dict() for f in by_segment], [f.as_dict() for f in by_collector]


def test_every_scope_summed_from_the_kept_read_equals_its_own_read(ledger, kept):
    today = ledger["today"]
    kept.REPORTS_CACHE_SECONDS = 0
    alone = [figures(today, scope) for scope in scopes(ledger)]
    kept.REPORTS_CACHE_SECONDS = 60
    with mock.patch.object(snapshots, "_open_positions", wraps=snapshots._open_positions) as read_open:
        shared = [figures(today, scope) for scope in scopes(ledger)]

    assert shared == alone
    assert read_open.call_count == 1  # once, for the whole ledger, whatever the scopes
    assert any(f["receivables"] for f in alone[0][0][today])  # the ledger is not empty


def test_a_payment_or_a_reassignment_makes_the_next_read_read_again(
    ledger, kept, django_capture_on_commit_callbacks
):
    today, customer = ledger["today"], ledger["customers"][0]
    scope = LedgerScope(collector_id=ledger["ann"].pk)
    before = ledger_trend(today, scope=scope, points=1)[today][0].receivables
    invoice = customer.invoices.filter(allocated_amount=0).exclude(status="cancelled").first()
    with django_capture_on_commit_callbacks(execute=True):
        payment = PaymentFactory(customer=customer, amount=Decimal("100.00"), received_on=today)
        allocate(payment=payment, invoice=invoice, amount=Decimal("100.00"))
        announce_change(customer_ids={customer.pk}, facts={"payments"}, earliest_day=today)
    assert ledger_trend(today, scope=scope, points=1)[today][0].receivables == before - Decimal("100.00")

    Customer.objects.filter(pk=customer.pk).update(collector=ledger["bob"], updated_at=timezone.now())
    assert ledger_trend(today, scope=scope, points=1)[today] == []  # ann has no customer left


def test_a_portfolio_is_read_for_itself(ledger, kept):
    today, customer = ledger["today"], ledger["customers"][2]
    portfolio = LedgerScope(customers=Customer.objects.filter(pk=customer.pk))
    kept.REPORTS_CACHE_SECONDS = 0
    alone = ledger_trend(today, scope=portfolio, points=1)[today]
    kept.REPORTS_CACHE_SECONDS = 60
    assert [f.as_dict() for f in ledger_trend(today, scope=portfolio, points=1)[today]] == [
        f.as_dict() for f in alone
    ]
    assert [f.currency for f in alone] == ["USD"]


def test_once_kept_another_section_reads_no_invoice_and_few_queries(ledger, kept):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reports.ledger import DEFAULT_PERIOD_MONTHS, period_start

    today = ledger["today"]
    # The past: the period's opening day and the months before this one, as the nightly run keeps them.
    snapshots.fill_days([period_start(today, DEFAULT_PERIOD_MONTHS) - dt.timedelta(days=1)])
    snapshots.fill_months(today=today)
    ledger_trend(today, scope=LedgerScope(), points=1)  # the first reader reads today's open invoices
    with CaptureQueriesContext(connection) as second:
        ledger_breakdown(today, scope=LedgerScope(currency="EUR"), points=1)
    sql = [query["sql"] for query in second.captured_queries]
    assert not [query for query in sql if "invoices_invoice" in query]
    # Index reads for the cache's keys (the newest customer change), whether customers moved (kept
    # too), and the snapshots' marks: a handful, whatever the size of the ledger.
    assert len(sql) <= 8, sql


def test_a_payment_reads_todays_open_invoices_again_but_not_this_months_sales(
    ledger, kept, django_capture_on_commit_callbacks
):
    today, customer = ledger["today"], ledger["customers"][0]
    ledger_trend(today, scope=LedgerScope(), points=1)
    sales = snapshots.monthly_credit_sales
    with (
        mock.patch.object(snapshots, "_open_positions", wraps=snapshots._open_positions) as read_open,
        mock.patch.object(snapshots, "monthly_credit_sales", wraps=sales) as read_sales,
    ):
        with django_capture_on_commit_callbacks(execute=True):
            announce_change(customer_ids={customer.pk}, facts={"payments"}, earliest_day=today)
        ledger_trend(today, scope=LedgerScope(), points=1)
        assert (read_open.call_count, read_sales.call_count) == (1, 0)
        with django_capture_on_commit_callbacks(execute=True):
            announce_change(customer_ids={customer.pk}, facts={"new_invoices"}, earliest_day=today)
        ledger_trend(today, scope=LedgerScope(), points=1)
        assert (read_open.call_count, read_sales.call_count) == (2, 1)
