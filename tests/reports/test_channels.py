"""Channel follow-through: the kept past months plus the live rest equal a plain count of every contact."""

import datetime as dt
import random
import threading
import time
from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.utils import timezone

from customers.signals import announce_change
from invoices.services import AllocationRequest, PaymentData, bulk_record_payments, record_payment
from reports import channels, snapshots
from reports.analytics import channel_follow_through
from reports.models import ChannelDay, ChannelDaySnapshot, ChannelMonth, ChannelSnapshot
from tests.conftest import need_service
from tests.factories import (
    TODAY,
    CustomerFactory,
    InteractionFactory,
    InvoiceFactory,
    PaymentFactory,
    ReminderFactory,
    SegmentFactory,
    StepFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

CHANNEL_NAMES = {"phone": "call"}


def random_ledger(seed: int) -> list:
    """Customers in two segments (and none), two currencies and two collectors, with contacts and
    payments scattered over 20 months, clustered so that some contacts are followed and some not."""
    rng = random.Random(seed)
    segments = [SegmentFactory(name="SME"), SegmentFactory(name="Retail"), None]
    collectors = [UserFactory(), None]
    steps = [StepFactory(channel="email"), StepFactory(channel="letter")]
    customers = [
        CustomerFactory(
            segment=rng.choice(segments),
            collector=rng.choice(collectors),
            currency=rng.choice(["EUR", "USD"]),
        )
        for _ in range(6)
    ]
    reminded = set()
    for customer in customers:
        for _ in range(12):
            day = TODAY - dt.timedelta(days=rng.randrange(-10, 600))
            kind = rng.choice(["interaction", "reminder", "payment", "payment"])
            if kind == "interaction":
                InteractionFactory(
                    customer=customer,
                    channel=rng.choice(["phone", "email", "letter", "visit"]),
                    direction=rng.choice(["outbound", "outbound", "inbound"]),
                    occurred_at=timezone.make_aware(
                        dt.datetime.combine(day, dt.time(rng.choice([0, 10, 23])))
                    ),
                )
            elif kind == "reminder" and day <= TODAY:
                step = rng.choice(steps)
                if (customer.pk, step.pk, day) in reminded:  # once per customer, step and day
                    continue
                reminded.add((customer.pk, step.pk, day))
                ReminderFactory(customer=customer, step=step, run_on=day)
            else:
                PaymentFactory(customer=customer, received_on=day, amount=Decimal("10.00"))
    return customers


def plain(today: dt.date, **filters) -> list[dict]:
    """The definition, one contact at a time: its customer's first payment on or after its day."""
    from calls.models import Interaction
    from dunning.models import Reminder
    from invoices.models import Payment

    start = today - dt.timedelta(days=365)
    payments = defaultdict(list)
    for customer_id, day in Payment.objects.values_list("customer_id", "received_on"):
        payments[customer_id].append(day)
    contacts = [
        (i.customer, timezone.localdate(i.occurred_at), i.channel)
        for i in Interaction.objects.select_related("customer__segment")
        if i.direction == "outbound" and i.channel in ("phone", "email", "letter")
    ] + [
        (r.customer, r.run_on, r.channel)
        for r in Reminder.objects.select_related("customer__segment")
        if r.channel in ("email", "letter")
    ]
    rows: dict[tuple, dict] = {}
    for customer, day, channel in contacts:
        if not start < day <= today or any(
            value and getattr(customer, field) != value for field, value in filters.items()
        ):
            continue
        channel = CHANNEL_NAMES.get(channel, channel)
        segment = customer.segment.name if customer.segment else "No segment"
        entry = rows.setdefault(
            (segment, channel), {"segment": segment, "channel": channel, "contacts": 0, "followed": 0}
        )
        entry["contacts"] += 1
        later = [paid for paid in payments[customer.pk] if paid >= day]
        entry["followed"] += 1 if later and (min(later) - day).days <= channels.FOLLOW_THROUGH_DAYS else 0
    for entry in rows.values():
        entry["followed_share"] = (
            Decimal(entry["followed"] * 100 / entry["contacts"]).quantize(Decimal("0.1"))
            if entry["contacts"]
            else None
        )
    return [rows[key] for key in sorted(rows)]


def scopes(customers) -> list[dict]:
    segment = next(c.segment for c in customers if c.segment)
    collector = next((c.collector for c in customers if c.collector), None)
    return [
        {},
        {"currency": "EUR"},
        {"segment_id": segment.pk},
        {"collector_id": getattr(collector, "pk", None)},
    ]


def compare(today, customers) -> None:
    for scope in scopes(customers):
        expected = plain(today, **scope)
        got = channel_follow_through(today=today, **scope)
        assert [(r["segment"], r["channel"], r["contacts"], r["followed"]) for r in got] == [
            (r["segment"], r["channel"], r["contacts"], r["followed"]) for r in expected
        ], (today, scope)


AS_OF_DAYS = [TODAY, dt.date(2026, 6, 30), dt.date(2026, 3, 1), dt.date(2026, 10, 31)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kept_months_plus_live_days_equal_a_plain_count(seed):
    customers = random_ledger(seed)
    for today in AS_OF_DAYS:
        compare(today, customers)  # nothing kept: all live
    assert channels.refresh(today=TODAY, months=20) == 20
    assert ChannelSnapshot.objects.exists()
    for today in AS_OF_DAYS:
        compare(today, customers)  # kept months and the live rest


def test_a_kept_month_is_read_instead_of_the_contacts(django_assert_max_num_queries, settings):
    settings.REPORTS_CACHE_SECONDS = 0  # the reads themselves (the cache's keys: test_todays_figures_kept)
    customer = CustomerFactory(segment=SegmentFactory(name="SME"))
    ReminderFactory(customer=customer, run_on=dt.date(2026, 5, 10), step=StepFactory(channel="email"))
    PaymentFactory(customer=customer, received_on=dt.date(2026, 5, 12))
    channels.refresh(today=TODAY)
    # Proof that the month is read from the snapshot: change the stored figure behind its back.
    ChannelSnapshot.objects.filter(month=dt.date(2026, 5, 1)).update(contacts=5)
    with django_assert_max_num_queries(6):
        (row,) = channel_follow_through(today=TODAY)
    assert (row["contacts"], row["followed"]) == (5, 1)


def test_a_back_dated_payment_marks_stale_the_months_it_can_follow_and_the_read_is_right():
    customer = CustomerFactory(segment=SegmentFactory(name="SME"))
    step = StepFactory(channel="letter")
    ReminderFactory(customer=customer, run_on=dt.date(2026, 4, 28), step=step)
    ReminderFactory(customer=customer, run_on=dt.date(2026, 2, 10), step=step)
    channels.refresh(today=TODAY)
    assert channel_follow_through(today=TODAY)[0]["followed"] == 0

    # Paid on 3 May: within 7 days of the April reminder, so April (and later) are stale, March is not.
    PaymentFactory(customer=customer, received_on=dt.date(2026, 5, 3))
    announce_change(customer_ids={customer.pk}, facts={"payments"}, earliest_day=dt.date(2026, 5, 3))

    stale = set(ChannelMonth.objects.filter(followed_stale=True).values_list("month", flat=True))
    assert dt.date(2026, 4, 1) in stale and dt.date(2026, 3, 1) not in stale
    assert channel_follow_through(today=TODAY)[0]["followed"] == 1
    assert channels.refresh(today=TODAY) == len(stale)
    assert channels.refresh(today=TODAY) == 0  # a repeat writes nothing
    assert channel_follow_through(today=TODAY)[0]["followed"] == 1
    assert channels.drift() == []


def test_a_change_without_a_day_marks_every_month_stale_and_a_call_logged_too():
    customer = CustomerFactory()
    channels.refresh(today=TODAY)
    announce_change(customer_ids={customer.pk}, facts={"excuses"})
    assert not ChannelMonth.objects.filter(stale=True).exists()
    announce_change(customer_ids={customer.pk}, facts={"contacts"})
    assert not ChannelMonth.objects.filter(stale=False).exists()


def test_a_reassigned_customer_is_counted_in_its_new_segment():
    old, new = SegmentFactory(name="Old"), SegmentFactory(name="New")
    customer = CustomerFactory(segment=old)
    ReminderFactory(customer=customer, run_on=dt.date(2026, 5, 10), step=StepFactory(channel="email"))
    channels.refresh(today=TODAY)
    customer.segment = new
    customer.save()
    assert [r["segment"] for r in channel_follow_through(today=TODAY)] == ["New"]
    assert [r["segment"] for r in channel_follow_through(today=TODAY, segment_id=new.pk)] == ["New"]


def test_the_backfill_command_fills_channel_months_and_the_check_finds_no_drift(capsys):
    random_ledger(4)
    call_command("snapshot_ledger", "--today", str(TODAY))
    assert ChannelMonth.objects.filter(stale=False).count() == channels.KEPT_MONTHS
    call_command("snapshot_ledger", "--check")
    ChannelSnapshot.objects.update(followed=0, contacts=99)
    with pytest.raises(Exception, match="differ"):
        call_command("snapshot_ledger", "--check")


def test_a_backfill_beyond_the_nightly_months_is_kept_fresh_by_the_nightly_run():
    customer = CustomerFactory()
    ReminderFactory(customer=customer, run_on=dt.date(2025, 3, 10), step=StepFactory(channel="email"))
    assert channels.refresh(today=TODAY, months=24) == 24
    PaymentFactory(customer=customer, received_on=dt.date(2025, 3, 12))
    announce_change(customer_ids={customer.pk}, facts={"payments"}, earliest_day=dt.date(2025, 3, 12))

    assert channels.refresh(today=TODAY) == 20  # March 2025 to October 2026, not only the last 13
    assert not ChannelMonth.objects.filter(stale=True).exists()
    assert channels.drift() == []


# --- The days kept one by one (the current and previous month, the window's first partial month) ---------


def _kept_days_only():
    """Days kept, and no month: every day of the window read from day rows where there are some."""
    return set(ChannelDay.objects.filter(stale=False).values_list("day", flat=True))


@pytest.mark.parametrize("seed", [1, 2])
def test_kept_months_days_and_live_today_equal_a_plain_count(seed):
    customers = random_ledger(seed)
    channels.refresh(today=TODAY, months=20)
    assert channels.refresh_days(today=TODAY) == len(channels.days_kept(TODAY))
    assert ChannelDaySnapshot.objects.exists()
    # 24 Nov 2025 (the window's first, partial month) and 1 Oct to 22 Nov 2026.
    kept = _kept_days_only()
    assert min(kept) == dt.date(2025, 11, 24) and dt.date(2025, 12, 1) not in kept
    assert dt.date(2026, 10, 1) in kept and max(kept) == TODAY - dt.timedelta(days=1)
    for today in [*AS_OF_DAYS, dt.date(2026, 11, 5)]:
        compare(today, customers)
    # With the months gone stale, the kept days of the previous month serve it.
    ChannelMonth.objects.update(stale=True)
    for today in (TODAY, dt.date(2026, 11, 5)):
        compare(today, customers)


def test_kept_days_are_read_and_only_today_live(django_assert_max_num_queries, settings):
    settings.REPORTS_CACHE_SECONDS = 0  # the reads themselves (the cache's keys: test_todays_figures_kept)
    customer = CustomerFactory(segment=SegmentFactory(name="SME"))
    step = StepFactory(channel="email")
    ReminderFactory(customer=customer, run_on=dt.date(2026, 11, 10), step=step)
    ReminderFactory(customer=customer, run_on=TODAY, step=step)
    PaymentFactory(customer=customer, received_on=dt.date(2026, 11, 12))
    channels.refresh(today=TODAY)
    channels.refresh_days(today=TODAY)
    months, days, live = channels.kept_stretches(TODAY - dt.timedelta(days=364), TODAY)
    assert len(months) == 11 and live == [(TODAY, TODAY)]
    # Proof that 10 November is read from its day row: change it behind the read's back.
    ChannelDaySnapshot.objects.filter(day=dt.date(2026, 11, 10)).update(contacts=5)
    with django_assert_max_num_queries(6):
        (row,) = channel_follow_through(today=TODAY)
    assert (row["contacts"], row["followed"]) == (5 + 1, 1)  # and today's reminder, live


def test_a_payment_today_marks_the_last_weeks_follow_through_stale_and_the_night_refills_it():
    """Only the follow-through: the portal's answers of that week stay kept (no payment moves them)."""
    customer = CustomerFactory(segment=SegmentFactory(name="SME"))
    ReminderFactory(
        customer=customer, run_on=TODAY - dt.timedelta(days=3), step=StepFactory(channel="letter")
    )
    channels.refresh(today=TODAY)
    channels.refresh_days(today=TODAY)
    assert channel_follow_through(today=TODAY)[0]["followed"] == 0
    window = (TODAY - dt.timedelta(days=364), TODAY)

    PaymentFactory(customer=customer, received_on=TODAY)
    announce_change(customer_ids={customer.pk}, facts={"payments"}, earliest_day=TODAY)

    stale = set(ChannelDay.objects.filter(followed_stale=True).values_list("day", flat=True))
    assert min(stale) == TODAY - dt.timedelta(days=channels.FOLLOW_THROUGH_DAYS)
    assert not ChannelDay.objects.filter(stale=True).exists()
    assert channels.kept_stretches(*window)[2] == [(min(stale), TODAY)]
    assert channels.kept_stretches(*window, answers=True)[2] == [(TODAY, TODAY)]
    assert channel_follow_through(today=TODAY)[0]["followed"] == 1  # read live
    assert channels.refresh_days(today=TODAY) == len(stale)
    assert channels.refresh_days(today=TODAY) == 0  # a repeat writes nothing
    assert channel_follow_through(today=TODAY)[0]["followed"] == 1
    assert channels.drift() == []


def test_a_call_marks_only_its_own_day_on_stale_and_the_read_is_right():
    """A contact's follow-through reads payments after it, not before: a call logged for three days ago
    leaves the days before it kept (a payment that day would reach a week back)."""
    customer = CustomerFactory(segment=SegmentFactory(name="SME"))
    PaymentFactory(customer=customer, received_on=TODAY - dt.timedelta(days=1))
    channels.refresh(today=TODAY)
    channels.refresh_days(today=TODAY)
    called_on = TODAY - dt.timedelta(days=3)

    at_ten = timezone.make_aware(dt.datetime.combine(called_on, dt.time(10)))
    InteractionFactory(customer=customer, channel="phone", direction="outbound", occurred_at=at_ten)
    announce_change(customer_ids={customer.pk}, facts={"contacts", "tasks"}, earliest_day=called_on)

    stale = set(ChannelDay.objects.filter(stale=True).values_list("day", flat=True))
    assert min(stale) == called_on
    (row,) = channel_follow_through(today=TODAY)
    assert (row["contacts"], row["followed"]) == (1, 1)  # the call, read live, then paid
    assert channels.refresh_days(today=TODAY) == len(stale)
    assert channels.drift() == []


def test_the_next_day_drops_the_days_no_longer_kept():
    ReminderFactory(
        customer=CustomerFactory(), run_on=dt.date(2025, 11, 25), step=StepFactory(channel="email")
    )
    channels.refresh_days(today=TODAY)
    assert dt.date(2025, 11, 25) in _kept_days_only()
    tomorrow = TODAY + dt.timedelta(days=2)  # the window now starts on 26 November 2025
    assert channels.refresh_days(today=tomorrow) == 2  # 23 and 24 November 2026
    assert sorted(_kept_days_only()) == channels.days_kept(tomorrow)
    assert not ChannelDaySnapshot.objects.filter(day=dt.date(2025, 11, 25)).exists()


def test_the_check_finds_a_kept_day_that_differs_and_a_regrouping_drops_the_days(capsys):
    customers = random_ledger(5)
    call_command("snapshot_ledger", "--today", str(TODAY))
    assert ChannelDay.objects.filter(stale=False).count() == len(channels.days_kept(TODAY))
    call_command("snapshot_ledger", "--check")
    kept = ChannelDaySnapshot.objects.order_by("day").first()
    ChannelDaySnapshot.objects.filter(pk=kept.pk).update(followed=kept.followed + 1)
    assert channels.drift() == [kept.day]

    moved = customers[0]
    moved.segment = SegmentFactory(name="Moved")
    moved.save()
    compare(TODAY, customers)  # read live meanwhile
    snapshots.refresh(today=TODAY)  # the nightly regrouping drops every kept day with the months
    assert not ChannelDay.objects.exists() and not ChannelDaySnapshot.objects.exists()


def post_payments(customers, days, rng) -> None:
    """A bulk post as the ERP sends it: one payment per customer on one of `days`."""
    bulk_record_payments(
        [
            PaymentData(
                account_number=customer.account_number,
                reference=f"BANK-{rng.randrange(10**9)}",
                received_on=rng.choice(days),
                amount=Decimal("5.00"),
                currency=customer.currency,
            )
            for customer in customers
        ]
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_added_payments_keep_the_days_fresh_and_add_exactly_what_they_followed(seed):
    """The morning's payments (and late ones dated days back) add their follow-through to the kept
    days instead of marking the week stale; every read and the check agree with a plain count."""
    rng = random.Random(seed)
    customers = random_ledger(seed)
    channels.refresh(today=TODAY, months=20)
    channels.refresh_days(today=TODAY)
    recent = [TODAY - dt.timedelta(days=back) for back in range(0, 6)]
    for _ in range(3):
        post_payments(rng.sample(customers, 3), recent, rng)
    assert not ChannelDay.objects.filter(day__gte=dt.date(2026, 11, 1), followed_stale=True).exists()
    assert channels.kept_stretches(TODAY - dt.timedelta(days=364), TODAY)[2] == [(TODAY, TODAY)]
    compare(TODAY, customers)
    assert channels.drift() == []


def test_a_payment_with_allocations_adds_its_follow_through_once():
    customer = CustomerFactory(segment=SegmentFactory(name="SME"))
    invoice = InvoiceFactory(customer=customer, amount=Decimal("80.00"))
    step = StepFactory(channel="letter")
    ReminderFactory(customer=customer, run_on=TODAY - dt.timedelta(days=3), step=step)
    ReminderFactory(customer=customer, run_on=TODAY - dt.timedelta(days=9), step=step)  # too early
    channels.refresh(today=TODAY)
    channels.refresh_days(today=TODAY)

    record_payment(
        customer=customer,
        reference="BANK-1",
        received_on=TODAY,
        amount=Decimal("80.00"),
        currency=customer.currency,
        allocations=[AllocationRequest(invoice.number, Decimal("50.00"))],
    )

    assert not ChannelDay.objects.filter(followed_stale=True).exists()
    assert ChannelDaySnapshot.objects.get(day=TODAY - dt.timedelta(days=3)).followed == 1
    assert ChannelDaySnapshot.objects.get(day=TODAY - dt.timedelta(days=9)).followed == 0
    assert channels.drift() == []


def test_a_gain_for_a_group_with_no_kept_row_marks_its_day_stale():
    """A customer regrouped since the fill: its gain has no row to go to, so its day is read live."""
    customer = CustomerFactory(segment=SegmentFactory(name="SME"))
    day = TODAY - dt.timedelta(days=2)
    ReminderFactory(customer=customer, run_on=day, step=StepFactory(channel="email"))
    channels.refresh(today=TODAY)
    channels.refresh_days(today=TODAY)
    ChannelDaySnapshot.objects.filter(day=day).update(segment_id=0)  # as before a regrouping
    post_payments([customer], [TODAY], random.Random(1))
    assert set(ChannelDay.objects.filter(followed_stale=True).values_list("day", flat=True)) == {day}


@pytest.mark.django_db(transaction=True)  # two connections, each seeing only the other's commits
def test_two_writers_paying_one_customer_at_once_add_its_follow_through_once():
    """Each writer's gain is read after the other's payments commit (the days are locked first), so a
    contact followed by both payments is counted once. The writers call the channels' receiver alone:
    the other receivers' row locks must not be what keeps it right."""
    need_service(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    customer = CustomerFactory(segment=SegmentFactory(name="SME"))
    ReminderFactory(customer=customer, run_on=TODAY - dt.timedelta(days=3), step=StepFactory(channel="email"))
    channels.refresh(today=TODAY)
    channels.refresh_days(today=TODAY)
    first_has_added = threading.Event()

    def add_payment(received_on):
        payment = PaymentFactory(customer=customer, received_on=received_on)
        channels.invalidate(
            since=received_on, facts={"payments"}, customer_ids={customer.pk}, added_payment_ids={payment.pk}
        )

    def first_writer():
        try:
            with transaction.atomic():
                add_payment(TODAY)
                first_has_added.set()
                time.sleep(0.5)  # holding the days while the second writer adds its payment
        finally:
            first_has_added.set()
            connections.close_all()

    writer = threading.Thread(target=first_writer)
    writer.start()
    first_has_added.wait(10)
    with transaction.atomic():
        add_payment(TODAY - dt.timedelta(days=1))
    writer.join()
    assert customer.payments.count() == 2
    assert ChannelDaySnapshot.objects.get(day=TODAY - dt.timedelta(days=3)).followed == 1
    assert channels.drift() == []
