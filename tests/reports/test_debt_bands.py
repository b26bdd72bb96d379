"""The dashboard's kept per-customer figures: debt-band rows (reports/debt_bands.py) and the effort read
from the kept worth-it scores. Each read from kept rows equals the live computation; after any sequence
of service calls the kept rows equal a full recomputation; the check reports drift, the rebuild repairs."""

import datetime as dt
import random
from decimal import Decimal
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F
from django.utils import timezone

from customers.models import Customer
from customers.signals import announce_change
from invoices.models import Invoice
from invoices.services import (
    AllocationRequest,
    allocate,
    record_payment,
    set_invoice_status,
    upsert_invoice,
)
from reports import analytics, snapshots
from reports.analytics import effort_against_value, payment_rate_by_debt_band
from reports.debt_bands import debt_band_drift, kept_band_totals, rebuild_debt_bands
from reports.models import DebtBandSnapshot, DebtBandStanding, WorthItScore
from reports.scores import rebuild_worth_it_scores
from reports.tasks import rebuild_worth_it
from tests.factories import (
    TODAY,
    CustomerFactory,
    InteractionFactory,
    InvoiceFactory,
    PaymentFactory,
    UserFactory,
)
from tests.reports.test_snapshots import random_ledger

pytestmark = pytest.mark.django_db


def filter_sets(ledger: dict) -> list[dict]:
    return [
        {},
        {"currency": "EUR"},
        {"currency": "USD"},
        {"segment_id": ledger["segments"][0].pk},
        {"collector_id": ledger["collectors"][0].pk},
        {"segment_id": ledger["segments"][1].pk, "currency": "EUR"},
    ]


def _live(**filters) -> list[dict]:
    saved = list(DebtBandStanding.objects.all())
    DebtBandStanding.objects.all().delete()
    try:
        return payment_rate_by_debt_band(as_of=TODAY, **filters)
    finally:
        DebtBandStanding.objects.bulk_create(saved)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kept_debt_bands_equal_the_live_figures_for_every_filter(seed):
    ledger = random_ledger(seed)
    everyone = analytics._customers_in(None).values("pk")
    assert kept_band_totals(everyone, as_of=TODAY) is None  # nothing kept yet: read live

    rebuild_debt_bands(today=TODAY)

    assert kept_band_totals(everyone, as_of=TODAY) is not None
    for filters in filter_sets(ledger):
        assert payment_rate_by_debt_band(as_of=TODAY, **filters) == _live(**filters), filters
    # Another day is not kept: read live, whatever is kept for today.
    assert kept_band_totals(everyone, as_of=TODAY - dt.timedelta(days=1)) is None


def test_a_customer_without_a_kept_row_sends_the_section_live():
    random_ledger(4)
    rebuild_debt_bands(today=TODAY)
    newcomer = CustomerFactory()  # announced: refreshed at once
    assert DebtBandStanding.objects.filter(customer=newcomer, as_of=TODAY).exists()

    DebtBandStanding.objects.filter(customer=newcomer).delete()  # as if written behind the services

    everyone = analytics._customers_in(None).values("pk")
    assert kept_band_totals(everyone, as_of=TODAY) is None
    assert payment_rate_by_debt_band(as_of=TODAY) == _live()


@pytest.mark.parametrize("seed", range(4))
def test_after_any_sequence_of_service_calls_the_kept_rows_equal_a_recomputation(seed):
    rng = random.Random(seed)
    ledger = random_ledger(seed)
    manager = UserFactory(role="credit_manager")
    rebuild_debt_bands(today=TODAY)
    customers = ledger["customers"]

    for step in range(12):
        customer = rng.choice(customers)
        action = rng.choice(["invoice", "payment", "status"])
        if action == "invoice":  # new or corrected, recent or back-dated past the lookback
            issued = TODAY - dt.timedelta(days=rng.randint(0, 90))
            upsert_invoice(
                number=f"S{seed}-{step}",
                customer=customer,
                issue_date=issued,
                due_date=issued + dt.timedelta(days=30),
                amount=Decimal(rng.randint(100, 9_000_000)) / 100,
                currency=customer.currency,
            )
        elif action == "payment":
            open_invoices = list(
                Invoice.objects.filter(customer=customer, status="open", currency=customer.currency)
            )
            invoice = rng.choice(open_invoices) if open_invoices else None
            amount = Decimal(rng.randint(100, 500_000)) / 100
            if invoice is not None:
                amount = min(amount, invoice.amount - invoice.allocated_amount)
            record_payment(
                customer=customer,
                reference=f"P{seed}-{step}",
                received_on=TODAY - dt.timedelta(days=rng.randint(0, 45)),
                amount=amount,
                currency=customer.currency,
                allocations=[AllocationRequest(invoice.number, amount)] if invoice else [],
            )
        else:
            invoice = Invoice.objects.filter(customer=customer, status="open").order_by("?").first()
            if invoice is not None:
                set_invoice_status(
                    invoice=invoice, status=rng.choice(["written_off", "disputed"]), actor=manager
                )

        assert debt_band_drift(today=TODAY) == [], (step, action)

    for filters in filter_sets(ledger):
        assert payment_rate_by_debt_band(as_of=TODAY, **filters) == _live(**filters), filters


def test_the_check_reports_drift_and_the_nightly_task_repairs_it(capsys):
    ledger = random_ledger(5)
    call_command("rebuild_worth_it", today=TODAY)
    call_command("rebuild_worth_it", "--check", today=TODAY)
    assert "no drift" in capsys.readouterr().out

    owing = DebtBandStanding.objects.filter(balance__gt=0).order_by("customer_id").first()
    DebtBandStanding.objects.filter(pk=owing.pk).update(paid=owing.paid + 1)  # edited behind the services
    DebtBandStanding.objects.filter(customer=ledger["customers"][0]).exclude(pk=owing.pk).delete()

    with pytest.raises(CommandError, match="kept debt-band rows differ"):
        call_command("rebuild_worth_it", "--check", today=TODAY)
    assert f"customer {owing.customer_id}: debt band rows" in capsys.readouterr().err

    rebuild_worth_it(today=TODAY.isoformat())
    assert debt_band_drift(today=TODAY) == []
    assert rebuild_debt_bands(today=TODAY) == []  # a repeat rewrites nothing


def _effort(today=TODAY, **filters) -> list:
    """The summaries with each currency's rows in customer order (ties in the ranking may come either way)."""
    summaries = effort_against_value(today=today, **filters)
    for summary in summaries:
        summary.rows = sorted(summary.rows, key=lambda row: row.customer_id)
    return summaries


@pytest.mark.parametrize("seed", [1, 2])
def test_effort_read_from_the_kept_scores_equals_the_live_effort(seed):
    ledger = random_ledger(seed)
    rng = random.Random(seed)
    for customer in ledger["customers"]:
        for _ in range(rng.randint(0, 4)):
            moment = dt.datetime.combine(
                TODAY - dt.timedelta(days=rng.randint(0, 400)), dt.time(9), tzinfo=dt.UTC
            )
            InteractionFactory(customer=customer, occurred_at=moment, minutes_spent=rng.randint(0, 90))
    live = {repr(filters): _effort(**filters) for filters in filter_sets(ledger)}

    rebuild_worth_it_scores(today=TODAY)

    assert not WorthItScore.objects.exclude(as_of=TODAY).exists()
    for filters in filter_sets(ledger):
        assert _effort(**filters) == live[repr(filters)], filters
    # A row not as of the day asked for sends the whole section live, with the same figures.
    WorthItScore.objects.filter(customer=ledger["customers"][0]).update(as_of=TODAY - dt.timedelta(days=1))
    assert _effort() == live["{}"]


def shown(summaries: list) -> list:
    """`effort_against_value` cut to what the dashboard shows (COSTLY_SHOWN is patched to 3)."""
    for summary in summaries:
        summary.costly, summary.rows = summary.costly[:3], []
    return summaries


@pytest.mark.parametrize("seed", [3, 4])
def test_the_dashboards_effort_summed_in_sql_is_the_python_summary(seed, monkeypatch):
    """What the dashboard shows (`effort_summaries`: SQL on PostgreSQL) equals `effort_against_value`
    cut to it, under every filter, today and a past day (computed live, from the raw rows); with more
    than a hundred customers (a curve point every second one), many tied on minutes and revenue, and
    more costly customers than are shown."""
    ledger = random_ledger(seed)
    rng = random.Random(seed)
    segment = ledger["segments"][0]
    for customer in [
        *ledger["customers"],
        *CustomerFactory.create_batch(120, currency="EUR", segment=segment),
    ]:
        for _ in range(rng.randint(0, 3)):
            # Over 15 months: a past day's window gains some of these and loses others.
            moment = dt.datetime.combine(
                TODAY - dt.timedelta(days=rng.randint(0, 450)), dt.time(9), tzinfo=dt.UTC
            )
            InteractionFactory(customer=customer, occurred_at=moment, minutes_spent=rng.choice([0, 15, 30]))
    monkeypatch.setattr(analytics, "COSTLY_SHOWN", 3)
    past = TODAY - dt.timedelta(days=40)
    WorthItScore.objects.all().delete()
    live_past = {str(f): shown(effort_against_value(today=past, **f)) for f in filter_sets(ledger)}
    rebuild_worth_it_scores(today=TODAY)

    for filters in filter_sets(ledger):
        expected = shown(effort_against_value(today=TODAY, **filters))
        assert analytics.effort_summaries(today=TODAY, **filters) == expected, filters
        assert analytics.effort_summaries(today=past, **filters) == live_past[str(filters)], filters
    euros = analytics.effort_summaries(today=TODAY)[0]
    assert euros.currency == "EUR" and len(euros.costly) == 3 and len(euros.pareto) > 60
    if connection.vendor == "postgresql":
        in_sql = analytics._effort_in_sql(Customer.objects.all(), today=TODAY)
        assert in_sql == analytics.effort_summaries(today=TODAY)
        # Today's kept scores moved to the past day in SQL, for the ledger and a segment.
        moved = analytics._effort_in_sql(Customer.objects.all(), today=past, kept_on=TODAY)
        assert moved == live_past["{}"]
        in_segment = Customer.objects.filter(segment=segment)
        moved = analytics._effort_in_sql(in_segment, today=past, kept_on=TODAY)
        assert moved == live_past[str({"segment_id": segment.pk})]
        # A score of another day: not from SQL, and the same figures from Python.
        WorthItScore.objects.filter(customer=ledger["customers"][0]).update(
            as_of=TODAY - dt.timedelta(days=1)
        )
        assert analytics._effort_in_sql(Customer.objects.all(), today=TODAY) is None
        assert analytics.effort_summaries(today=TODAY) == in_sql
        assert analytics.effort_summaries(today=past) == live_past["{}"]


def test_kept_debt_bands_and_effort_answer_in_constant_queries(django_assert_max_num_queries):
    random_ledger(6)
    rebuild_debt_bands(today=TODAY)
    rebuild_worth_it_scores(today=TODAY)
    with django_assert_max_num_queries(2):
        payment_rate_by_debt_band(as_of=TODAY)
    with django_assert_max_num_queries(2):
        effort_against_value(today=TODAY)


def test_new_invoices_refresh_the_rows_only_when_issued_before_the_lookback():
    ledger = random_ledger(7)
    rebuild_debt_bands(today=TODAY)
    customer = ledger["customers"][0]

    def imported(issued: dt.date) -> None:  # as the COPY import writes and announces them
        Invoice.objects.create(
            number=f"IMP-{issued}", customer=customer, issue_date=issued, due_date=issued,
            amount=Decimal("12345.67"), currency=customer.currency,
        )  # fmt: skip
        announce_change(customer_ids={customer.pk}, facts={"new_invoices"}, earliest_day=issued)

    def kept_rows() -> list:
        return list(DebtBandStanding.objects.filter(customer=customer).values_list("pk", "balance"))

    before = kept_rows()
    imported(TODAY - dt.timedelta(days=3))
    assert kept_rows() == before  # not rewritten: nothing it counts moved
    assert debt_band_drift(today=TODAY) == []

    imported(TODAY - dt.timedelta(days=45))
    after = kept_rows()
    assert after != before and sum(b for _, b in after) == sum(b for _, b in before) + Decimal("12345.67")
    assert debt_band_drift(today=TODAY) == []
    assert payment_rate_by_debt_band(as_of=TODAY) == _live()


PAST_DAYS = [TODAY - dt.timedelta(days=n) for n in (1, 17, 45, 150, 400)]


def _live_past(as_of, **filters) -> list[dict]:
    with mock.patch.object(snapshots, "snapshot_debt_bands", return_value=None):
        return payment_rate_by_debt_band(as_of=as_of, **filters)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_past_days_from_the_snapshots_equal_the_live_figures_for_every_filter(seed):
    ledger = random_ledger(seed)
    # An invoice in another currency than its customer's: the currency filter picks the customer's.
    eur_customer = next(c for c in ledger["customers"] if c.currency == "EUR")
    InvoiceFactory(
        customer=eur_customer, currency="USD", issue_date=TODAY - dt.timedelta(days=200),
        due_date=TODAY - dt.timedelta(days=170), amount=Decimal("25000.00"),
    )  # fmt: skip
    snapshots.fill_days(PAST_DAYS)

    assert DebtBandSnapshot.objects.filter(day__in=PAST_DAYS).exists()
    for as_of in PAST_DAYS:
        for filters in filter_sets(ledger):
            kept = snapshots.snapshot_debt_bands(as_of, **filters)
            assert kept is not None
            assert payment_rate_by_debt_band(as_of=as_of, **filters) == _live_past(as_of, **filters), (
                as_of,
                filters,
            )


def test_a_past_day_reads_the_snapshot_in_a_constant_number_of_queries(django_assert_num_queries, settings):
    settings.REPORTS_CACHE_SECONDS = 0  # the reads themselves (the cache's keys: test_todays_figures_kept)
    random_ledger(4)
    day = TODAY - dt.timedelta(days=45)
    snapshots.fill_days([day])
    with django_assert_num_queries(4):  # whether the kept rows serve it; the snapshot: day, grouping, sums
        payment_rate_by_debt_band(as_of=day)


def test_a_back_dated_payment_makes_the_past_day_read_live_until_refilled():
    ledger = random_ledger(7)
    day = TODAY - dt.timedelta(days=20)
    customer = ledger["customers"][0]
    invoice = InvoiceFactory(
        customer=customer, issue_date=TODAY - dt.timedelta(days=90),
        due_date=TODAY - dt.timedelta(days=60), amount=Decimal("5000.00"),
    )  # fmt: skip
    snapshots.fill_days([day])
    before = payment_rate_by_debt_band(as_of=day)

    payment = PaymentFactory(customer=customer, amount=Decimal("5000.00"), received_on=day)
    allocate(payment=payment, invoice=invoice, amount=Decimal("5000.00"))

    assert snapshots.snapshot_debt_bands(day) is None  # stale: read live
    after = payment_rate_by_debt_band(as_of=day)
    assert after != before and after == _live_past(day)
    snapshots.refresh(today=TODAY)
    assert snapshots.snapshot_debt_bands(day) is not None
    assert payment_rate_by_debt_band(as_of=day) == after
    assert snapshots.drift([day]) == []


def test_the_check_finds_a_debt_band_snapshot_that_differs():
    random_ledger(2)
    day = TODAY - dt.timedelta(days=45)
    snapshots.fill_days([day])
    assert snapshots.drift([day]) == []
    DebtBandSnapshot.objects.filter(day=day).update(paying=99)
    assert snapshots.drift([day]) == [day]


def _effort_ledger(seed: int) -> list:
    """Customers in two currencies with payments (allocated, some in the other currency) and contacts
    scattered over 500 days, some just after or before local midnight."""
    rng = random.Random(seed)
    customers = [CustomerFactory(currency=currency) for currency in ["EUR", "EUR", "USD", "EUR"]]
    for customer in customers:
        for _ in range(14):
            day = TODAY - dt.timedelta(days=rng.randint(-5, 500))
            currency = customer.currency if rng.random() < 0.8 else "GBP"
            invoice = InvoiceFactory(customer=customer, currency=currency, issue_date=day, due_date=day)
            amount = Decimal(rng.randint(100, 90_000)) / 100
            payment = PaymentFactory(customer=customer, currency=currency, amount=amount, received_on=day)
            allocate(payment=payment, invoice=invoice, amount=min(amount, invoice.amount))
            moment = dt.datetime.combine(
                TODAY - dt.timedelta(days=rng.randint(-5, 500)),
                rng.choice([dt.time(0, 5), dt.time(12), dt.time(23, 55)]),
            )
            InteractionFactory(
                customer=customer,
                occurred_at=timezone.make_aware(moment),
                minutes_spent=rng.randint(0, 90),
            )
    return customers


PAST_DAYS = [
    TODAY - dt.timedelta(days=1),
    TODAY - dt.timedelta(days=27),
    dt.date(2026, 10, 31),
    TODAY - dt.timedelta(days=181),  # the furthest moved from the kept day
    TODAY - dt.timedelta(days=183),  # further: read live
    TODAY + dt.timedelta(days=4),  # moved forward
]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_effort_on_another_day_moved_from_the_kept_scores_equals_the_live_effort(seed):
    customers = _effort_ledger(seed)
    scopes = ({}, {"currency": "USD"})
    live = {(day, repr(f)): _effort(day, **f) for day in PAST_DAYS for f in scopes}  # all live

    rebuild_worth_it_scores(today=TODAY)

    for day in PAST_DAYS:
        for filters in scopes:
            assert _effort(day, **filters) == live[(day, repr(filters))], (day, filters)
    # Proof that a day within half a window is moved from the kept scores, and one further is not.
    WorthItScore.objects.filter(customer=customers[0]).update(minutes_spent=F("minutes_spent") + 1000)
    for day, moved in ((TODAY - dt.timedelta(days=27), True), (TODAY - dt.timedelta(days=183), False)):
        (eur,) = [summary for summary in _effort(day) if summary.currency == "EUR"]
        assert eur.total_minutes == live[(day, "{}")][0].total_minutes + (1000 if moved else 0), day


def test_effort_on_another_day_is_live_when_the_kept_scores_are_of_mixed_days():
    customers = _effort_ledger(4)
    day = TODAY - dt.timedelta(days=27)
    expected = _effort(day)
    rebuild_worth_it_scores(today=TODAY)
    WorthItScore.objects.filter(customer=customers[0]).update(
        as_of=TODAY - dt.timedelta(days=1), minutes_spent=F("minutes_spent") + 1000
    )
    assert _effort(day) == expected
