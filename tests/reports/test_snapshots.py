"""Daily snapshots: the dashboard reads past days from them and equals the live SQL, before and after
a back-dated write or a reassignment; and the sections it is made of are cached per ledger version."""

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Customer
from customers.signals import announce_change
from invoices.services import allocate
from reports import channels, snapshots
from reports.ledger import LedgerScope, ledger_breakdown, ledger_figures, period_start, trend_days
from reports.models import SnapshotDay
from reports.tasks import refresh_snapshots
from tests.factories import (
    TODAY,
    CustomerFactory,
    InvoiceFactory,
    PaymentFactory,
    SegmentFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
D = dt.date


def random_ledger(seed: int) -> dict:
    """Six customers over two segments, two collectors (and none), two currencies; forty invoices issued
    over the last 15 months, some cancelled or disputed, paid in full, in part or not at all."""
    rng = random.Random(seed)
    segments = [SegmentFactory(name="SME"), SegmentFactory(name="Key accounts")]
    collectors = [UserFactory(role="collector"), UserFactory(role="collector"), None]
    customers = [
        CustomerFactory(currency=currency, segment=rng.choice(segments), collector=rng.choice(collectors))
        for currency in ["EUR", "EUR", "EUR", "USD", "USD", "EUR"]
    ]
    for _ in range(40):
        customer = rng.choice(customers)
        issued = TODAY - dt.timedelta(days=rng.randint(0, 450))
        invoice = InvoiceFactory(
            customer=customer,
            issue_date=issued,
            due_date=issued + dt.timedelta(days=rng.choice([0, 14, 30, 60])),
            amount=Decimal(rng.randint(100, 900_000)) / 100,
            status=rng.choice(["open", "open", "open", "disputed", "cancelled", "written_off"]),
        )
        share = rng.choice([0, 0, 30, 100])
        paid_on = issued + dt.timedelta(days=rng.randint(0, 120))
        if share and paid_on < TODAY:
            amount = (invoice.amount * share / 100).quantize(Decimal("0.01"))
            payment = PaymentFactory(customer=customer, amount=amount, received_on=paid_on)
            allocate(payment=payment, invoice=invoice, amount=amount)
    return {"segments": segments, "collectors": collectors, "customers": customers}


def days_for(as_of: dt.date) -> set[dt.date]:
    """Every day the trend and breakdown of `as_of` read."""
    days = set(trend_days(as_of, 12))
    return days | {period_start(day, 3) - dt.timedelta(days=1) for day in days}


def figures(rows) -> dict:
    """The figures by (day, currency, group), leaving out groups with nothing at all in them."""
    return {
        (row.as_of, row.currency, row.group_id): row.as_dict()
        for row in rows
        if row.receivables or row.credit_sales or row.opening_receivables
    }


def breakdown(as_of, scope=None, *, live=False) -> dict:
    trend, by_segment, by_collector = ledger_breakdown(as_of, scope=scope, live=live)
    return {
        "trend": figures(row for day in trend for row in trend[day]),
        "by_segment": figures(by_segment),
        "by_collector": figures(by_collector),
    }


def fill(as_of_days) -> None:
    snapshots.fill_days(sorted(day for as_of in as_of_days for day in days_for(as_of) if day < TODAY))
    snapshots.fill_months(today=TODAY)


def ledger_tables_read(queries) -> set[str]:
    return {
        table
        for query in queries
        for table in ("invoices_invoice", "invoices_allocation")
        if table in query["sql"]
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_snapshot_figures_equal_live_figures_on_random_ledgers_and_days(seed):
    ledger = random_ledger(seed)
    rng = random.Random(seed)
    past = [TODAY - dt.timedelta(days=rng.randint(1, 200)) for _ in range(2)] + [D(2026, 6, 30)]
    fill(past + [TODAY])
    scopes = [
        None,
        LedgerScope(currency="EUR"),
        LedgerScope(segment_id=ledger["segments"][0].pk),
        LedgerScope(collector_id=ledger["collectors"][0].pk, currency="EUR"),
    ]

    for as_of in [*past, TODAY]:
        for scope in scopes:
            with CaptureQueriesContext(connection) as read:
                from_snapshots = breakdown(as_of, scope)
            assert from_snapshots == breakdown(as_of, scope, live=True), (as_of, scope)
            # A past day reads no allocation at all; today reads only the open invoices.
            assert "invoices_allocation" not in ledger_tables_read(read.captured_queries), (as_of, scope)


def test_today_reads_the_open_invoices_and_equals_the_full_rebuild():
    random_ledger(7)
    fill([TODAY])  # the opening day of the DSO period is a past day
    with CaptureQueriesContext(connection) as read:
        today = ledger_figures(TODAY)
    assert figures(today) == figures(ledger_figures(TODAY, live=True))
    invoice_reads = [query["sql"] for query in read.captured_queries if "invoices_invoice" in query["sql"]]
    assert invoice_reads and all(
        '"allocated_amount" <' in sql or "issue_date" in sql for sql in invoice_reads
    )
    assert "invoices_allocation" not in ledger_tables_read(read.captured_queries)


def test_a_payment_dated_after_today_makes_today_read_the_full_ledger():
    customer = CustomerFactory(currency="EUR")
    invoice = InvoiceFactory(
        customer=customer, issue_date=TODAY - dt.timedelta(days=10), amount=Decimal("500")
    )
    payment = PaymentFactory(
        customer=customer, amount=Decimal("200"), received_on=TODAY + dt.timedelta(days=2)
    )
    allocate(payment=payment, invoice=invoice, amount=Decimal("200"))

    eur = ledger_figures(TODAY)[0]

    assert eur.receivables == Decimal("500.00")  # the payment is not received yet today


def test_a_back_dated_payment_invalidates_the_days_after_it_and_the_next_read_is_right():
    ledger = random_ledger(11)
    as_of = D(2026, 9, 30)
    fill([as_of])
    invoice = InvoiceFactory(
        customer=ledger["customers"][0],
        issue_date=D(2026, 8, 1),
        due_date=D(2026, 8, 31),
        amount=Decimal("1000"),
    )
    announce_change(customer_ids={invoice.customer_id}, facts={"invoices"}, earliest_day=invoice.issue_date)
    fill([as_of])
    before = {f.currency: f for f in ledger_figures(as_of)}["EUR"]
    kept_before = SnapshotDay.objects.filter(day__lt=D(2026, 9, 15), stale=False).count()

    payment = PaymentFactory(customer=invoice.customer, amount=Decimal("400"), received_on=D(2026, 9, 15))
    # The service announces the earliest day the allocation moves: its payment's received day.
    allocate(payment=payment, invoice=invoice, amount=Decimal("400"))

    assert not SnapshotDay.objects.filter(day__gte=D(2026, 9, 15), stale=False).exists()
    assert SnapshotDay.objects.filter(day__lt=D(2026, 9, 15), stale=False).count() == kept_before  # kept
    after = {f.currency: f for f in ledger_figures(as_of)}["EUR"]
    assert after.receivables == before.receivables - Decimal("400.00")
    assert breakdown(as_of) == breakdown(as_of, live=True)
    refresh_snapshots(today=TODAY.isoformat())  # the nightly run refills what was dropped
    assert SnapshotDay.objects.filter(day=as_of, stale=False).exists()
    assert breakdown(as_of) == breakdown(as_of, live=True)


def test_a_ledger_change_without_a_day_makes_every_snapshot_stale_and_the_window_is_refilled():
    random_ledger(5)
    fill([D(2026, 9, 30)])
    kept = set(SnapshotDay.objects.values_list("day", flat=True))
    announce_change(customer_ids={Customer.objects.first().pk}, facts={"invoices"})
    assert not SnapshotDay.objects.filter(stale=False).exists()

    snapshots.refresh(today=TODAY)

    assert kept <= set(SnapshotDay.objects.filter(stale=False).values_list("day", flat=True))


def test_a_call_logged_keeps_the_snapshots():
    random_ledger(5)
    fill([D(2026, 9, 30)])
    announce_change(customer_ids={Customer.objects.first().pk}, facts={"tasks", "excuses"})
    assert SnapshotDay.objects.exists() and not SnapshotDay.objects.filter(stale=True).exists()


def test_a_reassigned_customer_is_grouped_as_live_until_refilled_under_the_new_grouping(
    django_capture_on_commit_callbacks,
):
    ledger = random_ledger(3)
    as_of = D(2026, 10, 31)
    fill([as_of])
    moved = ledger["customers"][0]
    Customer.objects.filter(pk=moved.pk).update(
        collector=UserFactory(role="collector"), segment=SegmentFactory(name="Public sector")
    )

    assert snapshots.assignments_changed()
    assert breakdown(as_of) == breakdown(as_of, live=True)
    kept = set(SnapshotDay.objects.values_list("day", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        result = snapshots.refresh(today=TODAY)
    assert result["regrouped"] and not snapshots.assignments_changed()
    assert kept <= set(SnapshotDay.objects.values_list("day", flat=True))  # the same window, refilled
    with CaptureQueriesContext(connection) as read:
        from_snapshots = breakdown(as_of)
    assert from_snapshots == breakdown(as_of, live=True)
    assert "invoices_allocation" not in ledger_tables_read(read.captured_queries)  # read from snapshots


def test_the_nightly_run_fills_yesterday_and_a_repeat_writes_nothing():
    random_ledger(2)

    first = refresh_snapshots(today=TODAY.isoformat())
    again = refresh_snapshots(today=TODAY.isoformat())

    assert first["days"] == 1 and SnapshotDay.objects.filter(day=TODAY - dt.timedelta(days=1)).exists()
    assert first["months"] > 0 and first["channel_months"] == 13
    assert first["channel_days"] == len(channels.days_kept(TODAY))
    assert again == {"regrouped": False, "days": 0, "months": 0, "channel_months": 0, "channel_days": 0}


def test_backfill_command_fills_months_of_days_and_the_check_finds_no_drift(capsys):
    random_ledger(4)

    call_command("snapshot_ledger", "--months", "2", "--today", TODAY.isoformat())
    call_command("snapshot_ledger", "--check")

    first = TODAY.replace(day=1).replace(month=TODAY.month - 2)
    assert SnapshotDay.objects.filter(day__gte=first, day__lt=TODAY).count() == (TODAY - first).days
    assert "equals the live figures" in capsys.readouterr().out


@pytest.mark.parametrize("seed", [1, 2])
def test_debt_bands_read_from_open_invoices_equal_a_plain_rebuild(seed):
    from invoices.models import Allocation, Invoice
    from reports.analytics import DEBT_BANDS, _band_label, payment_rate_by_debt_band

    random_ledger(seed)
    for as_of in [TODAY, D(2026, 6, 30)]:
        start = as_of - dt.timedelta(days=30)
        balances, paid = {}, {}
        for invoice in Invoice.objects.exclude(status__in=["cancelled", "written_off"]).filter(
            issue_date__lte=start
        ):
            key = (invoice.customer_id, invoice.currency)
            allocations = Allocation.objects.filter(invoice=invoice).select_related("payment")
            before = sum((a.amount for a in allocations if a.payment.received_on <= start), Decimal("0"))
            since = sum(
                (a.amount for a in allocations if start < a.payment.received_on <= as_of), Decimal("0")
            )
            balances[key] = balances.get(key, Decimal("0")) + invoice.amount - before
            paid[key] = paid.get(key, Decimal("0")) + since
        expected = {}
        for key, balance in balances.items():
            if balance > 0:
                band = (key[1], sum(1 for limit in DEBT_BANDS if balance >= limit))
                customers, paying, total, total_paid = expected.get(band, (0, 0, Decimal("0"), Decimal("0")))
                expected[band] = (
                    customers + 1,
                    paying + (paid[key] > 0),
                    total + balance,
                    total_paid + paid[key],
                )

        rows = payment_rate_by_debt_band(as_of=as_of)

        labels = {_band_label(band): band for band in range(len(DEBT_BANDS) + 1)}
        got = {
            (row["currency"], labels[row["band"]]): (
                row["customers"],
                row["paying"],
                row["balance"],
                row["paid"],
            )
            for row in rows
        }
        assert got == expected, as_of


def test_with_a_shared_cache_a_move_is_seen_at_once_and_a_regrouping_too(
    settings, credit_manager, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    from customers.services import assign_collector

    settings.REPORTS_CACHE_SECONDS = 60
    cache.clear()
    ledger = random_ledger(3)
    fill([D(2026, 10, 31)])
    assert not snapshots.assignments_changed()  # kept under the newest change and assignment

    new_collector = UserFactory(role="collector")
    assign_collector(customers=[ledger["customers"][0]], collector=new_collector, actor=credit_manager)
    assert snapshots.assignments_changed()

    with django_capture_on_commit_callbacks(execute=True):
        snapshots.refresh(today=TODAY)
    assert not snapshots.assignments_changed()
    cache.clear()
