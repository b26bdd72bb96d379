"""Ledger figures on a small ledger whose aging, DSO, countback DSO, ADD and CEI are worked by hand."""

import datetime as dt
from decimal import Decimal

import pytest

from invoices.services import allocate
from reports.ledger import ledger_breakdown
from reports.selectors import LedgerScope, ledger_figures, ledger_trend
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


def invoice(customer, issued: dt.date, due: dt.date, amount: str, status: str = "open"):
    return InvoiceFactory(
        customer=customer, issue_date=issued, due_date=due, amount=Decimal(amount), status=status
    )


def pay(invoice, amount: str, on: dt.date):
    payment = PaymentFactory(customer=invoice.customer, amount=Decimal(amount), received_on=on)
    allocate(payment=payment, invoice=invoice, amount=Decimal(amount))


@pytest.fixture
def ledger():
    """The worked example. As of 23 Nov 2026, period 1 Sep - 23 Nov (84 days):

    A 1000 issued 10 Nov due 10 Dec, unpaid                -> not yet due 1000
    B 2000 issued 20 Oct due 19 Nov, 500 paid 20 Nov        -> 4 days late: 1-30 1500
    C 3000 issued 5 Sep due 5 Oct, unpaid                   -> 49 days late: 31-60 3000
    D 4000 issued 1 Aug due 31 Aug, paid 10 Sep             -> nothing open (4000 open on 31 Aug)
    E  500 issued 15 Jun due 15 Jul, unpaid                 -> 131 days late: over 90 500
    F  600 issued 20 Jul due 19 Aug, 100 paid 25 Nov        -> 96 days late: over 90 600 (paid after as-of)
    G 1000 cancelled, H 700 issued 24 Nov (after as-of): never counted.
    """
    segment = SegmentFactory(name="SME")
    collector = UserFactory(username="ann", role="collector")
    eur = CustomerFactory(currency="EUR", segment=segment, collector=collector)
    other = CustomerFactory(currency="EUR", segment=SegmentFactory(name="Key accounts"))
    invoice(eur, D(2026, 11, 10), D(2026, 12, 10), "1000.00")
    pay(invoice(eur, D(2026, 10, 20), D(2026, 11, 19), "2000.00"), "500.00", D(2026, 11, 20))
    invoice(eur, D(2026, 9, 5), D(2026, 10, 5), "3000.00")
    pay(invoice(other, D(2026, 8, 1), D(2026, 8, 31), "4000.00"), "4000.00", D(2026, 9, 10))
    invoice(other, D(2026, 6, 15), D(2026, 7, 15), "500.00")
    pay(invoice(other, D(2026, 7, 20), D(2026, 8, 19), "600.00"), "100.00", D(2026, 11, 25))
    invoice(eur, D(2026, 10, 1), D(2026, 10, 31), "1000.00", status="cancelled")
    invoice(eur, D(2026, 11, 24), D(2026, 12, 24), "700.00")
    dollars = CustomerFactory(currency="USD", segment=segment)
    invoice(dollars, D(2026, 11, 1), D(2026, 12, 1), "100.00")
    return {"segment": segment, "collector": collector}


def by_currency(figures):
    return {f.currency: f for f in figures}


def test_aging_buckets_hold_open_amounts_by_days_past_due(ledger):
    eur = by_currency(ledger_figures(TODAY))["EUR"]

    assert eur.aging == {
        "current": Decimal("1000.00"),
        "days_1_30": Decimal("1500.00"),
        "days_31_60": Decimal("3000.00"),
        "days_61_90": Decimal("0.00"),
        "over_90": Decimal("1100.00"),
    }
    assert eur.receivables == Decimal("6600.00")
    assert eur.overdue == Decimal("5600.00")
    assert eur.overdue_share == Decimal("84.8")  # 5600 / 6600


def test_dso_best_possible_dso_and_add(ledger):
    eur = by_currency(ledger_figures(TODAY))["EUR"]

    assert (eur.period_start, eur.period_days) == (D(2026, 9, 1), 84)
    assert eur.credit_sales == Decimal("6000.00")  # A + B + C
    assert eur.dso == Decimal("92.4")  # 6600 / 6000 x 84
    assert eur.best_dso == Decimal("14.0")  # 1000 / 6000 x 84
    assert eur.add == Decimal("78.4")


def test_countback_dso_walks_back_month_by_month(ledger):
    eur = by_currency(ledger_figures(TODAY))["EUR"]

    # Nov: 23 days eat 1000 (5600 left); Oct: 31 days eat 2000 (3600); Sep: 30 days eat 3000 (600);
    # Aug: 600 of 4000 is 4.65 of its 31 days. 23 + 31 + 30 + 4.65 = 88.65.
    assert eur.countback_dso == Decimal("88.7")
    assert not eur.countback_capped


def test_collection_effectiveness_index(ledger):
    eur = by_currency(ledger_figures(TODAY))["EUR"]

    # Opening receivables on 31 Aug: D 4000 + E 500 + F 600.
    assert eur.opening_receivables == Decimal("5100.00")
    # (5100 + 6000 - 6600) / (5100 + 6000 - 1000) = 4500 / 10100
    assert eur.cei == Decimal("44.6")


def test_each_currency_is_reported_on_its_own(ledger):
    usd = by_currency(ledger_figures(TODAY))["USD"]

    assert usd.receivables == Decimal("100.00") and usd.credit_sales == Decimal("100.00")
    assert (usd.dso, usd.best_dso, usd.add) == (Decimal("84.0"), Decimal("84.0"), Decimal("0.0"))
    assert usd.countback_dso == Decimal("23.0")  # November's 23 days cover it all


def test_a_past_day_is_rebuilt_from_dates(ledger):
    eur = by_currency(ledger_figures(D(2026, 9, 30)))["EUR"]

    # C not yet due; D paid on 10 Sep; F 42 days late; E 77 days late. Period Jul-Sep: 92 days.
    assert eur.aging == {
        "current": Decimal("3000.00"),
        "days_1_30": Decimal("0.00"),
        "days_31_60": Decimal("600.00"),
        "days_61_90": Decimal("500.00"),
        "over_90": Decimal("0.00"),
    }
    assert eur.credit_sales == Decimal("7600.00")  # F + D + C
    assert eur.dso == Decimal("49.6")  # 4100 / 7600 x 92


def test_filters_by_segment_and_collector(ledger):
    sme = ledger_figures(TODAY, scope=LedgerScope(segment_id=ledger["segment"].pk, currency="EUR"))
    assert [f.receivables for f in sme] == [Decimal("5500.00")]  # A + B + C

    portfolio = ledger_figures(TODAY, scope=LedgerScope(collector_id=ledger["collector"].pk))
    assert [(f.currency, f.receivables) for f in portfolio] == [("EUR", Decimal("5500.00"))]


def test_group_by_segment_splits_each_currency(ledger):
    figures = ledger_figures(TODAY, scope=LedgerScope(group_by="segment"))

    split = {(f.currency, f.group_id): f.receivables for f in figures}
    key_accounts = [key for key in split if key[0] == "EUR" and key[1] != ledger["segment"].pk][0]
    assert split[("EUR", ledger["segment"].pk)] == Decimal("5500.00")
    assert split[key_accounts] == Decimal("1100.00")
    assert split[("USD", ledger["segment"].pk)] == Decimal("100.00")


def test_trend_gives_twelve_month_ends_in_three_queries(ledger, django_assert_max_num_queries, settings):
    settings.REPORTS_CACHE_SECONDS = 0  # the reads themselves (the cache's keys: test_todays_figures_kept)
    # Three reads of the ledger, and four small ones: the snapshots' grouping, which days and months
    # have a snapshot (none here), and whether a payment dated after today is allocated.
    with django_assert_max_num_queries(7):
        trend = ledger_trend(TODAY)

    assert list(trend)[0] == D(2025, 12, 31) and list(trend)[-1] == TODAY and len(trend) == 12
    september = by_currency(trend[D(2026, 9, 30)])["EUR"]
    assert september.dso == Decimal("49.6")
    assert by_currency(trend[TODAY])["EUR"].dso == Decimal("92.4")


def test_empty_ledger_has_no_figures(db):
    assert ledger_figures(TODAY) == []


def test_breakdown_adds_segments_and_collectors_up_from_one_read(
    ledger, django_assert_max_num_queries, settings
):
    settings.REPORTS_CACHE_SECONDS = 0  # the reads themselves (the cache's keys: test_todays_figures_kept)
    with django_assert_max_num_queries(7):  # as the trend above
        trend, by_segment, by_collector = ledger_breakdown(TODAY)

    whole = {f.currency: f for f in trend[TODAY]}
    assert whole["EUR"].as_dict() == by_currency(ledger_figures(TODAY))["EUR"].as_dict()
    segments = sorted(f.receivables for f in by_segment if f.currency == "EUR")
    assert segments == [Decimal("1100.00"), Decimal("5500.00")]
    collectors = {f.group_id: f for f in by_collector if f.currency == "EUR"}
    assert collectors[ledger["collector"].pk].receivables == Decimal("5500.00")
    assert collectors[ledger["collector"].pk].dso == Decimal("77.0")  # 5500 / 6000 x 84
    assert collectors[None].receivables == Decimal("1100.00")


def test_money_sums_are_exact_to_the_cent_on_every_database(db):
    customer = CustomerFactory(currency="EUR")
    amounts = ["1234567.89", "2345678.91", "987654.37", "0.07", "3456789.13", "1111111.11", "2222222.29"]
    for amount in amounts:
        invoice(customer, D(2026, 11, 1), D(2026, 12, 1), amount)

    (eur,) = ledger_figures(TODAY)

    expected = sum(Decimal(a) for a in amounts)
    assert eur.receivables == expected and str(eur.current_receivables) == str(expected)
    assert eur.credit_sales.as_tuple().exponent == -2
