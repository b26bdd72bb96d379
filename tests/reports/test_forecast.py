"""The 13-week forecast and its backtest, worked by hand on small ledgers."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calls.models import Complaint
from invoices.services import allocate
from reports.backtest import backtest, wape, week_ends
from reports.forecast import forecast
from reports.ledger import LedgerScope
from tests.factories import (
    TODAY,
    AgreementFactory,
    ComplaintFactory,
    CustomerFactory,
    InstalmentFactory,
    InvoiceFactory,
    PaymentFactory,
    SegmentFactory,
)

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


def paid_invoice(customer, *, due: dt.date, late_days: int, amount: str = "1000.00"):
    invoice = InvoiceFactory(customer=customer, due_date=due, amount=Decimal(amount))
    payment = PaymentFactory(customer=customer, amount=Decimal(amount), received_on=due + late_days * DAY)
    allocate(payment=payment, invoice=invoice, amount=Decimal(amount))
    return invoice


def history(customer, *, late_days: int, count: int = 6):
    """`count` invoices paid `late_days` after their due dates over the last months."""
    for month in range(count):
        paid_invoice(customer, due=TODAY - (40 + 30 * month) * DAY, late_days=late_days)


def weeks_of(currency: str = "EUR", **kwargs) -> list:
    (found,) = [f for f in forecast(as_of=TODAY, **kwargs) if f.currency == currency]
    return found.weeks


def test_a_customer_always_20_days_late_is_forecast_20_days_after_due():
    customer = CustomerFactory()
    history(customer, late_days=20)
    # Due on day 3 after the as-of day: paid on day 23, the fourth week (days 22-28).
    InvoiceFactory(customer=customer, due_date=TODAY + 3 * DAY, amount=Decimal("700.00"))

    weeks = weeks_of()

    assert [w.week for w in weeks if w.expected] == [4]
    assert weeks[3].expected == Decimal("700.00")
    assert weeks[3].starts == TODAY + 22 * DAY and weeks[3].ends == TODAY + 28 * DAY
    assert weeks[0].naive == Decimal("700.00")  # the naive forecast: on the due date


def test_an_invoice_already_late_is_paid_after_today_by_what_is_left_of_the_distribution():
    customer = CustomerFactory()
    history(customer, late_days=10, count=3)
    history(customer, late_days=30, count=3)
    # 15 days overdue: it cannot be 10 days late any more, so all of it comes at 30 days late (day 15).
    InvoiceFactory(customer=customer, due_date=TODAY - 15 * DAY, amount=Decimal("400.00"))

    weeks = weeks_of()

    assert weeks[2].expected == Decimal("400.00")
    assert sum(w.expected for w in weeks) == Decimal("400.00")


def test_a_customer_with_little_history_follows_its_segment():
    veteran = CustomerFactory()
    history(veteran, late_days=20)
    newcomer = CustomerFactory(segment=veteran.segment)
    paid_invoice(newcomer, due=TODAY - 50 * DAY, late_days=0)  # one invoice is not a history
    InvoiceFactory(customer=newcomer, due_date=TODAY + 1 * DAY, amount=Decimal("300.00"))

    weeks = weeks_of()

    # The segment's amounts: six invoices 20 days late (day 21), the newcomer's one on time (day 1).
    assert weeks[2].expected == Decimal("257.14") and weeks[0].expected == Decimal("42.85")


def test_a_customer_whose_segment_has_little_history_follows_everyones_in_the_currency():
    veteran = CustomerFactory(segment=SegmentFactory())
    history(veteran, late_days=20)
    newcomer = CustomerFactory(segment=SegmentFactory())  # a segment of its own, as new as it is
    paid_invoice(newcomer, due=TODAY - 50 * DAY, late_days=0)
    InvoiceFactory(customer=newcomer, due_date=TODAY + 1 * DAY, amount=Decimal("300.00"))

    weeks = weeks_of()

    # Everyone's amounts in EUR: the veteran's six invoices 20 days late, the newcomer's one on time.
    assert weeks[2].expected == Decimal("257.14") and weeks[0].expected == Decimal("42.85")


def test_an_agreements_instalments_land_in_their_weeks_times_the_kept_rate():
    customer = CustomerFactory()
    history(customer, late_days=0)
    covered = InvoiceFactory(customer=customer, due_date=TODAY - 60 * DAY, amount=Decimal("900.00"))
    for closed, state in ((40, "kept"), (30, "kept"), (20, "kept"), (10, "broken")):
        AgreementFactory(customer=customer, made_on=TODAY - (closed + 20) * DAY,
                         closed_on=TODAY - closed * DAY, state=state)  # fmt: skip
    plan = AgreementFactory(customer=customer, kind="plan", total_amount=Decimal("900.00"))
    plan.invoices.add(covered)
    InstalmentFactory(agreement=plan, due_date=TODAY + 5 * DAY, amount=Decimal("300.00"))
    InstalmentFactory(agreement=plan, due_date=TODAY + 19 * DAY, amount=Decimal("300.00"))
    InstalmentFactory(agreement=plan, due_date=TODAY + 40 * DAY, amount=Decimal("300.00"))

    weeks = weeks_of()

    # Kept 3 of 4: 225 in weeks 1, 3 and 6; the covered invoice is not spread as well.
    assert {w.week: w.from_agreements for w in weeks if w.expected} == {
        1: Decimal("225.00"), 3: Decimal("225.00"), 6: Decimal("225.00")
    }  # fmt: skip
    assert sum(w.from_invoices for w in weeks) == 0
    assert weeks[0].naive == Decimal("900.00")  # the naive forecast knows no agreements


def test_a_disputed_invoice_is_held_back_until_disputes_are_usually_resolved_less_the_upheld_share():
    customer = CustomerFactory()
    history(customer, late_days=0)
    for number, outcome in enumerate(["upheld", "rejected", "rejected", "rejected"]):
        opened = TODAY - (100 + number) * DAY
        ComplaintFactory(customer=customer, opened_on=opened, resolved_on=opened + 28 * DAY, outcome=outcome)
    disputed = InvoiceFactory(customer=customer, due_date=TODAY + 2 * DAY, amount=Decimal("800.00"))
    complaint = ComplaintFactory(customer=customer, opened_on=TODAY - 7 * DAY)
    complaint.invoices.add(disputed)

    weeks = weeks_of()

    # Not in week 1 though due then: resolved 28 days after opening (day 21), a quarter upheld.
    assert weeks[0].expected == 0
    assert {w.week: w.from_disputes for w in weeks if w.expected} == {3: Decimal("600.00")}


def test_a_resolved_dispute_pays_as_usual_and_invoices_not_issued_are_left_out():
    customer = CustomerFactory()
    history(customer, late_days=0)
    invoice = InvoiceFactory(customer=customer, due_date=TODAY + 2 * DAY, amount=Decimal("800.00"))
    complaint = ComplaintFactory(customer=customer, opened_on=TODAY - 7 * DAY)
    complaint.invoices.add(invoice)
    Complaint.objects.filter(pk=complaint.pk).update(resolved_on=TODAY - DAY, outcome="rejected")
    InvoiceFactory(customer=customer, issue_date=TODAY + DAY, due_date=TODAY + 10 * DAY)

    weeks = weeks_of()

    assert [(w.week, w.expected) for w in weeks if w.expected] == [(1, Decimal("800.00"))]


def test_currencies_are_never_added_and_the_scope_narrows_by_segment():
    euro, dollar = CustomerFactory(currency="EUR"), CustomerFactory(currency="USD")
    for customer in (euro, dollar):
        history(customer, late_days=0)
        InvoiceFactory(customer=customer, due_date=TODAY + 2 * DAY, amount=Decimal("100.00"))

    assert [(f.currency, f.total) for f in forecast(as_of=TODAY)] == [
        ("EUR", Decimal("100.00")), ("USD", Decimal("100.00"))
    ]  # fmt: skip
    narrowed = forecast(as_of=TODAY, scope=LedgerScope(segment_id=dollar.segment_id))
    assert [f.currency for f in narrowed] == ["USD"]


def test_the_interval_holds_the_expected_amount():
    customer = CustomerFactory()
    history(customer, late_days=3, count=3)
    history(customer, late_days=12, count=3)
    InvoiceFactory(customer=customer, due_date=TODAY + 1 * DAY, amount=Decimal("1000.00"))

    weeks = weeks_of()

    assert weeks[0].expected == Decimal("500.00") and weeks[1].expected == Decimal("500.00")
    assert weeks[0].low < weeks[0].expected < weeks[0].high


def test_backtest_compares_each_week_end_with_the_receipts_that_followed():
    customer = CustomerFactory()
    history(customer, late_days=20, count=8)
    # Due 9 weeks ago and paid 20 days later, as always: the forecast made before knew it.
    paid_invoice(customer, due=TODAY - 63 * DAY, late_days=20, amount="500.00")

    results = {r.currency: r for r in backtest(as_of=TODAY, origins=4)}

    euro = results["EUR"]
    assert [o.as_of for o in euro.origins] == week_ends(TODAY, 4)
    assert all(o.as_of.weekday() == 6 and o.as_of <= TODAY - 7 * DAY for o in euro.origins)
    assert euro.wape is not None and euro.naive_wape is not None
    assert euro.wape <= euro.naive_wape


def test_wape_is_the_absolute_error_over_the_actual_receipts():
    assert wape([Decimal("90"), Decimal("30")], [Decimal("100"), Decimal("20")]) == Decimal("16.7")
    assert wape([Decimal("5")], [Decimal("0")]) is None


def test_the_forecast_costs_the_same_queries_for_one_customer_or_many(django_assert_num_queries):
    def ledger_of(count: int):
        for _ in range(count):
            customer = CustomerFactory()
            history(customer, late_days=5, count=5)
            InvoiceFactory(customer=customer, due_date=TODAY + 2 * DAY)
            agreement = AgreementFactory(customer=customer)
            agreement.invoices.add(InvoiceFactory(customer=customer, due_date=TODAY - 9 * DAY))
            InstalmentFactory(agreement=agreement)
            complaint = ComplaintFactory(customer=customer, opened_on=TODAY - DAY)
            complaint.invoices.add(InvoiceFactory(customer=customer, due_date=TODAY + 5 * DAY))

    ledger_of(1)
    with CaptureQueriesContext(connection) as one:
        forecast(as_of=TODAY)
    ledger_of(6)
    with django_assert_num_queries(len(one)):
        forecast(as_of=TODAY)


def test_a_past_day_counts_what_was_open_then_paid_in_full_or_in_part_after_it():
    """As of a past day, money allocated from payments received after it is still open on it."""
    as_of = TODAY - 30 * DAY
    customer = CustomerFactory()
    history(customer, late_days=5)  # all of it received by the day
    paid_off = InvoiceFactory(customer=customer, due_date=as_of + 3 * DAY, amount=Decimal("1000.00"))
    part_paid = InvoiceFactory(customer=customer, due_date=as_of + 10 * DAY, amount=Decimal("600.00"))
    for invoice, received_on, amount in (
        (paid_off, as_of + 10 * DAY, "1000.00"),
        (part_paid, as_of - 2 * DAY, "200.00"),
        (part_paid, as_of + 5 * DAY, "300.00"),
    ):
        payment = PaymentFactory(customer=customer, amount=Decimal(amount), received_on=received_on)
        allocate(payment=payment, invoice=invoice, amount=Decimal(amount))

    (made,) = forecast(as_of=as_of)

    assert made.open_amount == Decimal("1400.00")
    assert [w.naive for w in made.weeks[:3]] == [Decimal("1000.00"), Decimal("400.00"), Decimal("0")]
    assert made.total == Decimal("1400.00")  # paid 5 days late, always: all within the 13 weeks
