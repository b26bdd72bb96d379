"""Effort against value, excuses and complaints, debt bands and channels, on small hand-worked ledgers."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from invoices.services import allocate
from reports.analytics import (
    channel_follow_through,
    complaints_used_to_delay,
    effort_against_value,
    excuse_mix,
    payment_rate_by_debt_band,
    repeated_excuses,
)
from tests.factories import (
    TODAY,
    ComplaintFactory,
    CustomerFactory,
    ExcuseFactory,
    InteractionFactory,
    InvoiceFactory,
    PaymentFactory,
    ReminderFactory,
    SegmentFactory,
)

pytestmark = pytest.mark.django_db


def days_ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def at(days: int):
    return timezone.make_aware(dt.datetime.combine(days_ago(days), dt.time(10, 0)))


def paid(customer, amount: str, *, issued_days_ago: int, paid_days_ago: int | None):
    invoice = InvoiceFactory(
        customer=customer, amount=Decimal(amount), issue_date=days_ago(issued_days_ago),
        due_date=days_ago(issued_days_ago - 30),
    )  # fmt: skip
    if paid_days_ago is not None:
        payment = PaymentFactory(
            customer=customer, amount=Decimal(amount), received_on=days_ago(paid_days_ago)
        )
        allocate(payment=payment, invoice=invoice, amount=Decimal(amount))
    return invoice


def test_effort_against_value_finds_the_customers_who_cost_more_than_they_bring(
    django_assert_max_num_queries,
):
    heavy = CustomerFactory(name="Heavy", currency="EUR")
    paid(heavy, "100.00", issued_days_ago=60, paid_days_ago=10)
    InteractionFactory.create_batch(4, customer=heavy, occurred_at=at(5), minutes_spent=30)
    light = CustomerFactory(name="Light", currency="EUR")
    paid(light, "10000.00", issued_days_ago=60, paid_days_ago=10)
    InteractionFactory(customer=light, occurred_at=at(5), minutes_spent=30)
    CustomerFactory(name="Quiet", currency="EUR")

    with django_assert_max_num_queries(4):
        (eur,) = effort_against_value(today=TODAY)

    assert (eur.customers, eur.total_minutes, eur.total_revenue) == (3, 150, Decimal("10100.00"))
    assert eur.top_tenth_effort_share == Decimal("80.0")  # the top 1 of 3 took 120 of 150 minutes
    # Heavy: 2 hours at 60.00 = 120.00 against 20% of 100.00 = 20.00.
    assert [(row.name, row.cost, row.brings) for row in eur.costly] == [
        ("Heavy", Decimal("120.00"), Decimal("20.00"))
    ]
    assert eur.pareto[1] == (Decimal("33.3"), Decimal("80.0"), Decimal("1.0"))
    assert eur.pareto[-1] == (Decimal("100.0"), Decimal("100.0"), Decimal("100.0"))


def test_excuse_mix_counts_categories_per_month_and_spots_repeats():
    repeat = CustomerFactory(name="Repeat Ltd")
    ExcuseFactory.create_batch(2, customer=repeat, category="cash_flow", given_on=TODAY)
    ExcuseFactory(customer=repeat, category="person_away", given_on=dt.date(2026, 10, 3))
    ExcuseFactory(customer=repeat, category="cash_flow", given_on=dt.date(2024, 10, 3))  # too old

    mix = excuse_mix(today=TODAY)

    assert mix.months[0] == dt.date(2025, 12, 1) and mix.months[-1] == dt.date(2026, 11, 1)
    assert mix.counts[dt.date(2026, 11, 1)] == {"cash_flow": 2}
    assert mix.counts[dt.date(2026, 10, 1)] == {"person_away": 1}
    assert mix.totals == {"cash_flow": 2, "person_away": 1}
    repeats = repeated_excuses(today=TODAY)
    assert [(r["customer__name"], r["category_label"], r["times"]) for r in repeats] == [
        ("Repeat Ltd", "Cash-flow trouble", 2)
    ]


def test_complaint_opened_after_a_reminder_then_rejected_shows_the_delay():
    customer = CustomerFactory(name="Stalling BV")
    ReminderFactory(customer=customer, run_on=dt.date(2026, 10, 1))
    ComplaintFactory(
        customer=customer,
        opened_on=dt.date(2026, 10, 5),
        resolved_on=dt.date(2026, 10, 25),
        outcome="rejected",
    )
    ComplaintFactory(
        customer=customer, opened_on=dt.date(2026, 10, 6), resolved_on=dt.date(2026, 10, 9), outcome="upheld"
    )
    ComplaintFactory(  # rejected, but no reminder came before it
        customer=CustomerFactory(),
        opened_on=dt.date(2026, 10, 5),
        resolved_on=dt.date(2026, 10, 20),
        outcome="rejected",
    )
    PaymentFactory(customer=customer, received_on=dt.date(2026, 11, 2))

    (row,) = complaints_used_to_delay(today=TODAY)

    assert row["customer__name"] == "Stalling BV"
    assert (row["days_after_reminder"], row["days_held"], row["days_to_pay_after_rejection"]) == (4, 20, 8)


def test_complaints_used_to_delay_keeps_the_latest_within_30_days_of_a_reminder_up_to_the_limit():
    reminded = CustomerFactory()
    ReminderFactory(customer=reminded, run_on=dt.date(2026, 9, 1))
    # Opened 30 days after the reminder (kept) and 31 days after it (left out), rejected a day apart.
    on_the_edge = ComplaintFactory(
        customer=reminded,
        opened_on=dt.date(2026, 10, 1),
        resolved_on=dt.date(2026, 10, 10),
        outcome="rejected",
    )
    ComplaintFactory(
        customer=reminded,
        opened_on=dt.date(2026, 10, 2),
        resolved_on=dt.date(2026, 10, 11),
        outcome="rejected",
    )
    later = [
        ComplaintFactory(
            customer=reminded,
            opened_on=dt.date(2026, 9, 5),
            resolved_on=dt.date(2026, 10, 12) + dt.timedelta(days=n),
            outcome="rejected",
        )
        for n in range(3)
    ]

    every = complaints_used_to_delay(today=TODAY)
    latest_two = complaints_used_to_delay(today=TODAY, limit=2)

    assert [row["pk"] for row in every] == [later[2].pk, later[1].pk, later[0].pk, on_the_edge.pk]
    assert every[-1]["days_after_reminder"] == 30
    assert latest_two == every[:2]


def test_payment_rate_by_debt_band_compares_small_and_large_balances():
    small = CustomerFactory(currency="EUR")
    paid(small, "500.00", issued_days_ago=60, paid_days_ago=10)
    large = CustomerFactory(currency="EUR")
    paid(large, "20000.00", issued_days_ago=60, paid_days_ago=None)

    bands = payment_rate_by_debt_band(as_of=TODAY)

    assert [(b["band"], b["customers"], b["paying_share"], b["paid_share"]) for b in bands] == [
        ("under 1,000", 1, Decimal("100.0"), Decimal("100.0")),
        ("10,000 to 50,000", 1, Decimal("0.0"), Decimal("0.0")),
    ]


def test_channel_follow_through_counts_payments_within_seven_days_per_segment():
    segment = SegmentFactory(name="SME")
    customer = CustomerFactory(segment=segment)
    InteractionFactory(customer=customer, channel="phone", occurred_at=at(20))
    InteractionFactory(customer=customer, channel="email", occurred_at=at(100))
    ReminderFactory(customer=customer, run_on=days_ago(16), step__channel="email")
    PaymentFactory(customer=customer, received_on=days_ago(15))

    rows = channel_follow_through(today=TODAY)

    assert [
        (r["segment"], r["channel"], r["contacts"], r["followed"], r["followed_share"]) for r in rows
    ] == [
        ("SME", "call", 1, 1, Decimal("100.0")),
        ("SME", "email", 2, 1, Decimal("50.0")),
    ]


def test_effort_counts_interactions_by_their_local_day_at_the_window_edges():
    """The window is (today - 365, today] in local days: an instant range must draw the same line."""
    customer = CustomerFactory()
    start = TODAY - dt.timedelta(days=365)

    def local(day, hour, minute):
        return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))

    InteractionFactory(customer=customer, occurred_at=local(start, 23, 59), minutes_spent=1)  # out
    InteractionFactory(
        customer=customer, occurred_at=local(start + dt.timedelta(days=1), 0, 0), minutes_spent=10
    )
    InteractionFactory(customer=customer, occurred_at=local(TODAY, 23, 59), minutes_spent=100)
    InteractionFactory(
        customer=customer, occurred_at=local(TODAY + dt.timedelta(days=1), 0, 0), minutes_spent=1000
    )

    (summary,) = effort_against_value(today=TODAY)

    assert summary.total_minutes == 110
