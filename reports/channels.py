"""Which channel gets paid: outbound contacts in 12 months and the share followed by a payment.

A contact (an outbound call, email or letter logged as an interaction, or an email or letter reminder)
is followed through when the customer's first payment received on or after its day comes at most
FOLLOW_THROUGH_DAYS days later.

Why precomputed: the 20,000-customer ledger holds ~1.5M reminders and ~330k outbound interactions in
a year. Reading them at all takes seconds, whatever the join (probing each one's next payment through
an index took 9.5 s; one sorted pass over contacts and payments still 12 s). So the figures of every
complete past month are kept per (currency, segment, collector, channel) in ChannelSnapshot, filled by
the nightly snapshot task; a request reads those ~13 months of sums. The days of the window no kept
month covers (the part of the first month inside the window, and this month: about 30 days, whose
~180,000 contacts on the 20,000-customer ledger still took a second to read and sort) are kept one by
one (ChannelDaySnapshot, with the previous month's days for when that month is stale), so only what
neither covers is read live: today, and after a write the days it marked stale.

A month's figures depend on its contacts and on payments up to FOLLOW_THROUGH_DAYS after it ends, so
a payment dated `d` (customer_facts_changed's earliest_day) marks the follow-through stale in every
month ending on or after `d - FOLLOW_THROUGH_DAYS`. The kept days from that day on are corrected in
the payment's transaction instead when payments were only added (the usual case: the morning's
payments, dated today): the contacts they followed through are added to them, so the last week stays
kept. Any other change to payments marks those days' follow-through stale (not the portal's answers,
which no payment moves); a contact or a reminder dated `d` marks its month
and the days from `d` on (a call logged today: nothing kept); stale and missing months and days are
read live until the nightly run refills them. The portal's answers per month and day (reports/self_service.py,
PortalAnswerSnapshot, PortalAnswerDaySnapshot) are kept with the same months, days and marks.
Groups are the customers' segment and collector when filled, as for the daily ledger snapshots
(reports/snapshots.py, SnapshotAssignment): after a reassignment everything is read live until the
nightly run regroups.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Case, CharField, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from calls.choices import Direction
from calls.models import Interaction
from customers.models import Customer, Segment
from dunning.choices import DeliveryStatus
from dunning.models import Reminder
from invoices.models import Payment

from . import self_service, snapshots
from .ledger import add_months
from .models import (
    ChannelDay,
    ChannelDaySnapshot,
    ChannelMonth,
    ChannelSnapshot,
    PortalAnswerDaySnapshot,
    PortalAnswerSnapshot,
)
from .worth_it import WINDOW_DAYS  # the window is (today - WINDOW_DAYS, today]

FOLLOW_THROUGH_DAYS = 7
# The facts whose change can move a month's figures.
CHANNEL_FACTS = {"payments", "contacts", "reminders"}
KEPT_MONTHS = 13  # a 365-day window touches at most 13 calendar months

GroupKey = tuple[str, int, int, str]  # currency, segment id (0: none), collector id (0: none), channel


# --- Live counts ---------------------------------------------------------------------------------------


def live_counts(
    stretches: list[tuple[date, date]], in_scope: QuerySet | None = None
) -> dict[GroupKey, list[int]]:
    """[contacts, followed] per group for the contacts dated in any of the stretches (first, last days
    included). One query, however many stretches: each reads the tables once (`_counts`)."""
    return _counts(stretches, in_scope, by_day=False)


def live_day_counts(stretches: list[tuple[date, date]]) -> dict[tuple[date, GroupKey], list[int]]:
    """live_counts per day: [contacts, followed] per (contact's day, group). One query."""
    return _counts(stretches, None, by_day=True)


def _counts(
    stretches: list[tuple[date, date]],
    in_scope: QuerySet | None,
    *,
    by_day: bool,
    added_payment_ids: Collection[int] = (),
) -> dict:
    """[contacts, followed] per group, or per (day, group) `by_day`, for the contacts in the stretches;
    with `added_payment_ids`, [contacts, followed, followed without those payments].

    Set-based rather than a probe per contact: the contacts and the payments that can follow them
    (first..last + FOLLOW_THROUGH_DAYS of each stretch) are read once as one stream sorted per customer
    by day, newest first with payments before contacts of the same day, so a running MIN over the
    payments seen so far is each contact's next payment among those read. That is its true next
    payment whenever that one comes within FOLLOW_THROUGH_DAYS (it was read); otherwise every payment
    read after the contact is later still, so the contact counts as not followed either way.
    """
    in_scope = Customer.objects.order_by().values("pk") if in_scope is None else in_scope
    when = Q(pk__in=[])
    when_reminded = Q(pk__in=[])
    when_paid = Q(pk__in=[])
    for first, last in stretches:
        # Local days as an instant range (as `occurred_at__date`, without converting every row).
        when |= Q(
            occurred_at__gte=_local_midnight(first), occurred_at__lt=_local_midnight(last + timedelta(days=1))
        )
        when_reminded |= Q(run_on__gte=first, run_on__lte=last)
        when_paid |= Q(received_on__gte=first, received_on__lte=last + timedelta(days=FOLLOW_THROUGH_DAYS))
    interactions = (
        Interaction.objects.filter(
            when,
            customer__in=in_scope,
            direction=Direction.OUTBOUND,
            channel__in=("phone", "email", "letter"),
        )
        .order_by()
        .annotate(c_customer=F("customer_id"), c_day=TruncDate("occurred_at"), c_channel=F("channel"))
        .values("c_customer", "c_day", "c_channel")
    )
    # Every reminder has one of the delivery statuses: naming them all lets PostgreSQL read a few
    # days of reminders through the (status, run_on) index instead of scanning the whole table.
    reminders = (
        Reminder.objects.filter(
            when_reminded,
            customer__in=in_scope,
            status__in=DeliveryStatus.values,
            channel__in=("email", "letter"),
        )
        .order_by()
        .annotate(c_customer=F("customer_id"), c_day=F("run_on"), c_channel=F("channel"))
        .values("c_customer", "c_day", "c_channel")
    )
    payments = (
        Payment.objects.filter(when_paid, customer__in=in_scope)
        .order_by()
        .annotate(
            c_customer=F("customer_id"),
            c_day=F("received_on"),
            c_added=Case(When(pk__in=list(added_payment_ids), then=Value(1)), default=Value(0)),
        )
        .values("c_customer", "c_day", "c_added")
    )
    parts, params = [], []
    for queryset, is_contact in ((interactions, 1), (reminders, 1), (payments, 0)):
        sql, part_params = queryset.query.sql_with_params()
        channel, added = ("c_channel", "0") if is_contact else ("NULL", "c_added")
        parts.append(
            f"SELECT c_customer, c_day, {channel} AS c_channel, {is_contact} AS is_contact, "
            f"{added} AS is_added FROM ({sql}) AS part"
        )
        params.extend(part_params)
    day_column = "m.c_day, " if by_day else ""
    # Without the added payments too, when asked: a second running MIN over the same sorted stream.
    paid_before, followed_before = ("NULL", "0")
    if added_payment_ids:
        paid_before = "MIN(CASE WHEN is_contact = 0 AND is_added = 0 THEN c_day END) OVER running"
        followed_before = _followed_by("m.paid_before")
    sql = f"""
        WITH events AS ({" UNION ALL ".join(parts)}),
        marked AS (
            SELECT c_customer, c_day, c_channel, is_contact,
                   MIN(CASE WHEN is_contact = 0 THEN c_day END) OVER running AS paid_on,
                   {paid_before} AS paid_before
            FROM events
            WINDOW running AS (
                PARTITION BY c_customer ORDER BY c_day DESC, is_contact ROWS UNBOUNDED PRECEDING
            )
        )
        SELECT {day_column}c.currency, COALESCE(c.segment_id, 0), COALESCE(c.collector_id, 0), m.c_channel,
               COUNT(*), {_followed_by("m.paid_on")}, {followed_before}
        FROM marked m
        JOIN {Customer._meta.db_table} c ON c.id = m.c_customer
        WHERE m.is_contact = 1
        GROUP BY {day_column}c.currency, COALESCE(c.segment_id, 0), COALESCE(c.collector_id, 0), m.c_channel
    """  # noqa: S608 (only table names and fixed fragments are formatted in; values are parameters)
    counts: dict = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *[FOLLOW_THROUGH_DAYS] * (2 if added_payment_ids else 1)])
        for *key, contacts, followed, followed_before in cursor:
            group = tuple(key[-4:])
            figures = [contacts, int(followed or 0)]
            if added_payment_ids:
                figures.append(int(followed_before or 0))
            counts[(as_date(key[0]), group) if by_day else group] = figures
    return counts


def _followed_by(paid_on: str) -> str:
    """SQL counting the contacts whose next payment (`paid_on`) came within FOLLOW_THROUGH_DAYS."""
    if connection.vendor == "sqlite":
        gap = f"julianday({paid_on}) - julianday(m.c_day)"
    else:
        gap = f"{paid_on} - m.c_day"  # PostgreSQL: date - date is whole days
    return f"SUM(CASE WHEN {paid_on} IS NOT NULL AND {gap} <= %s THEN 1 ELSE 0 END)"


def as_date(value) -> date:
    """A day read by a raw query: a date on PostgreSQL, text on SQLite."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


# --- Filling and invalidation --------------------------------------------------------------------------


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def month_last_day(month: date) -> date:
    return add_months(month, 1) - timedelta(days=1)


def fill_months(months: list[date]) -> int:
    """Write the figures of each month (first days; replacing any), one transaction per month."""
    snapshots._record_assignments_if_none()
    for month in sorted(set(months)):
        counts = live_counts([(month, month_last_day(month))])
        with transaction.atomic():
            ChannelSnapshot.objects.filter(month=month).delete()
            ChannelSnapshot.objects.bulk_create(
                ChannelSnapshot(
                    month=month,
                    currency=currency,
                    segment_id=segment_id,
                    collector_id=collector_id,
                    channel=channel,
                    contacts=contacts,
                    followed=followed,
                )
                for (currency, segment_id, collector_id, channel), (contacts, followed) in counts.items()
            )
            # The portal's days from reminder to answer (reports/self_service.py) are kept by month too,
            # fresh and stale with the same mark: a reminder or contact dated in the month moves both.
            PortalAnswerSnapshot.objects.filter(month=month).delete()
            PortalAnswerSnapshot.objects.bulk_create(self_service.answer_month_rows(month))
            ChannelMonth.objects.update_or_create(
                month=month, defaults={"stale": False, "followed_stale": False}
            )
    return len(set(months))


def fill_days(days: list[date]) -> int:
    """Write the figures of each day (replacing any) with its portal answers: one transaction, one
    query for the contacts and one for the answers of all the days."""
    days = sorted(set(days))
    if not days:
        return 0
    snapshots._record_assignments_if_none()
    stretches = _joined(days)
    # A new day's mark is committed (stale) before it is filled, and every mark is locked while
    # filling and updated in place: a payment's gain (_add_follow_through) waits for the fill or the
    # fill for it, so none is lost between the fill's count and its commit.
    ChannelDay.objects.bulk_create(
        (ChannelDay(day=day, stale=True, followed_stale=True) for day in days), ignore_conflicts=True
    )
    with transaction.atomic():
        list(ChannelDay.objects.select_for_update().filter(day__in=days).order_by("day").values_list("pk"))
        counts = live_day_counts(stretches)
        ChannelDaySnapshot.objects.filter(day__in=days).delete()
        ChannelDaySnapshot.objects.bulk_create(
            (
                ChannelDaySnapshot(
                    day=day,
                    currency=currency,
                    segment_id=segment_id,
                    collector_id=collector_id,
                    channel=channel,
                    contacts=contacts,
                    followed=followed,
                )
                for (day, (currency, segment_id, collector_id, channel)), (contacts, followed) in (
                    counts.items()
                )
            ),
            batch_size=5000,
        )
        PortalAnswerDaySnapshot.objects.filter(day__in=days).delete()
        PortalAnswerDaySnapshot.objects.bulk_create(self_service.answer_day_rows(stretches))
        ChannelDay.objects.filter(day__in=days).update(
            stale=False, followed_stale=False, filled_at=timezone.now()
        )
    return len(days)


def refresh(*, today: date, months: int = KEPT_MONTHS) -> int:
    """Fill the complete months among the last `months`, and any month kept before (a backfill reaching
    further back), that are missing or stale; returns how many. A repeat fills nothing.

    Run after snapshots.refresh (which regroups and drops these too when customers moved). A month is
    complete once it has ended; a payment arriving later for its last days marks it stale again.
    """
    this_month = today.replace(day=1)
    recent = {add_months(this_month, -back) for back in range(months, 0, -1)}
    kept = {
        month: stale or followed_stale
        for month, stale, followed_stale in ChannelMonth.objects.filter(month__lt=this_month).values_list(
            "month", "stale", "followed_stale"
        )
    }
    return fill_months([month for month in recent | set(kept) if kept.get(month, True)])


def days_kept(today: date) -> list[date]:
    """The days kept one by one on `today`: those of the previous and the current month up to
    yesterday, and those of the first month of the window (today - 365, today] when it starts inside
    one. With the kept months, they cover every day of today's window but today; the previous month
    one by one too, because the morning's payments mark it stale in the first week of a month."""
    first = today - timedelta(days=WINDOW_DAYS - 1)
    days = _days_between(add_months(today.replace(day=1), -1), today - timedelta(days=1))
    if first.day != 1:
        days += _days_between(first, month_last_day(first))
    return sorted(set(days))


def refresh_days(*, today: date) -> int:
    """Fill the days kept on `today` that are missing or stale, and drop those no longer kept; returns
    how many were filled (a repeat fills nothing). Run after `refresh`, nightly."""
    wanted = days_kept(today)
    fresh = set(
        ChannelDay.objects.filter(day__in=wanted, stale=False, followed_stale=False).values_list(
            "day", flat=True
        )
    )
    with transaction.atomic():
        for model in (ChannelDay, ChannelDaySnapshot, PortalAnswerDaySnapshot):
            model.objects.exclude(day__in=wanted).delete()
    return fill_days([day for day in wanted if day not in fresh])


def invalidate(*, since: date | None, facts=CHANNEL_FACTS, customer_ids=(), added_payment_ids=()) -> None:
    """Mark stale every month and day a change of these facts dated `since` can have moved (None: all
    of them). A contact or a reminder moves its own day on (a later portal answer's days since its
    latest reminder): a call logged today stales nothing kept. Payments reach back, since the contacts
    of the FOLLOW_THROUGH_DAYS before them are followed through; they move only the follow-through
    (`followed_stale`), so the portal's answers of those days stay kept: the morning's payments would
    otherwise send a week of answers live too. Payments only added (`added_payment_ids`, of
    `customer_ids`, nothing else changed) leave the kept days fresh: they add what they followed
    through to them (`_add_follow_through`), so the day's payments do not send a week live."""
    if "payments" in facts:
        reach = None if since is None else since - timedelta(days=FOLLOW_THROUGH_DAYS)
        if set(facts) & CHANNEL_FACTS == {"payments"} and added_payment_ids and reach is not None:
            _mark(reach, "followed_stale", days=False)
            _add_follow_through(reach, customer_ids, added_payment_ids)
        else:
            _mark(reach, "followed_stale")
    if set(facts) & {"contacts", "reminders"}:
        _mark(since, "stale")


def _mark(since: date | None, flag: str, *, days: bool = True) -> None:
    months = ChannelMonth.objects.filter(**{flag: False})
    kept_days = ChannelDay.objects.filter(**{flag: False}) if days else ChannelDay.objects.none()
    if since is not None:
        months, kept_days = months.filter(month__gte=since.replace(day=1)), kept_days.filter(day__gte=since)
    months.update(**{flag: True})
    kept_days.update(**{flag: True})


def _add_follow_through(since: date, customer_ids, added_payment_ids) -> None:
    """Add to the fresh kept days from `since` on the contacts that these customers' added payments
    followed through (those followed with them and not without them): one query for the days, one
    for the gains, one update.

    The days are locked first, so a concurrent writer's gains or a refill (fill_days, which locks
    them too) is either wholly before or wholly after this: each reads the other's payments once
    committed, and none is counted twice or missed. A gain whose group has no kept row (its customer
    was regrouped) marks its day stale instead."""
    with transaction.atomic():
        locked = ChannelDay.objects.select_for_update().filter(day__gte=since).order_by("day")
        days = [
            day for day, followed_stale in locked.values_list("day", "followed_stale") if not followed_stale
        ]
        if not days:
            return
        in_scope = Customer.objects.filter(pk__in=customer_ids).order_by().values("pk")
        counts = _counts(_joined(days), in_scope, by_day=True, added_payment_ids=added_payment_ids)
        gains = [
            (day, *group, followed - followed_before)
            for (day, group), (_, followed, followed_before) in counts.items()
            if followed != followed_before
        ]
        if gains:
            added_to = _add_to_day_rows(gains)
            missing = {day for day, *group, _ in gains if (day, *group) not in added_to}
            ChannelDay.objects.filter(day__in=missing).update(followed_stale=True)


def _add_to_day_rows(gains: list[tuple]) -> set[tuple]:
    """Add each (day, currency, segment id, collector id, channel, gain) to its kept day row's
    `followed`; returns the keys of the rows found. One statement, on PostgreSQL and SQLite."""
    table = ChannelDaySnapshot._meta.db_table
    rows = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(gains))
    day = "CAST(g.day AS date)" if connection.vendor == "postgresql" else "g.day"
    sql = f"""
        WITH g(day, currency, segment_id, collector_id, channel, gain) AS (VALUES {rows})
        UPDATE {table} SET followed = {table}.followed + g.gain
        FROM g
        WHERE {table}.day = {day} AND {table}.currency = g.currency AND {table}.segment_id = g.segment_id
          AND {table}.collector_id = g.collector_id AND {table}.channel = g.channel
        RETURNING {table}.day, {table}.currency, {table}.segment_id, {table}.collector_id, {table}.channel
    """  # noqa: S608 (only the table name and placeholders are formatted in; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for gain in gains for value in gain])
        return {(as_date(row[0]), *row[1:]) for row in cursor.fetchall()}


def drift(months: list[date] | None = None) -> list[date]:
    """The kept months (or `months`) whose stored figures differ from a live count: the follow-through
    where it is fresh, the portal's answers where the contacts are; with no `months`, the kept days
    that differ too."""
    if months:
        marks = dict.fromkeys(months, False)
    else:
        marks = dict(ChannelMonth.objects.filter(stale=False).values_list("month", "followed_stale"))
    differ = [
        month
        for month, followed_stale in sorted(marks.items())
        if (not followed_stale and _stored(month) != live_counts([(month, month_last_day(month))]))
        or _stored_answers(month) != _answers(self_service.answer_month_rows(month))
    ]
    return differ if months else differ + _day_drift()


def _day_drift() -> list[date]:
    marks = dict(ChannelDay.objects.filter(stale=False).values_list("day", "followed_stale"))
    days = sorted(marks)
    if not days:
        return []
    live: dict[date, dict] = defaultdict(dict)
    for (day, group), counts in live_day_counts(_joined(days)).items():
        live[day][group] = counts
    stored: dict[date, dict] = defaultdict(dict)
    for row in ChannelDaySnapshot.objects.filter(day__in=days):
        stored[row.day][(row.currency, row.segment_id, row.collector_id, row.channel)] = [
            row.contacts,
            row.followed,
        ]
    live_answers = _day_answers(self_service.answer_day_rows(_joined(days)))
    stored_answers = _day_answers(PortalAnswerDaySnapshot.objects.filter(day__in=days))
    return [
        day
        for day in days
        if (not marks[day] and live.get(day, {}) != stored.get(day, {}))
        or live_answers.get(day) != stored_answers.get(day)
    ]


def _stored_answers(month: date) -> set[tuple]:
    return _answers(PortalAnswerSnapshot.objects.filter(month=month))


def _answers(rows) -> set[tuple]:
    return {(row.channel, row.answers, row.days) for row in rows}


def _day_answers(rows) -> dict[date, set[tuple]]:
    found: dict[date, set[tuple]] = defaultdict(set)
    for row in rows:
        found[row.day].add((row.channel, row.answers, row.days))
    return dict(found)


def _stored(month: date) -> dict[GroupKey, list[int]]:
    return {
        (row.currency, row.segment_id, row.collector_id, row.channel): [row.contacts, row.followed]
        for row in ChannelSnapshot.objects.filter(month=month)
    }


# --- Reading -------------------------------------------------------------------------------------------


def follow_through(
    *,
    today: date,
    customers: QuerySet[Customer] | None = None,
    currency: str | None = None,
    segment_id: int | None = None,
    collector_id: int | None = None,
) -> dict[tuple[int, str], list[int]]:
    """[contacts, followed] per (segment id, stored channel) over the window (today - 365, today].

    Fresh complete months and fresh kept days come from ChannelSnapshot and ChannelDaySnapshot (one
    query for the marks, one for their sums), the rest of the window live (one query for the days not
    covered). A portfolio (`customers`) or a customer moved since the fill reads everything live.
    """
    first, last = today - timedelta(days=WINDOW_DAYS - 1), today
    in_scope = Customer.objects.all() if customers is None else customers
    for field, value in (("currency", currency), ("segment_id", segment_id), ("collector_id", collector_id)):
        if value:
            in_scope = in_scope.filter(**{field: value})
    use_snapshots = customers is None and not snapshots.assignments_changed()
    months, days, stretches = kept_stretches(first, last) if use_snapshots else ([], [], [(first, last)])
    totals: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    if months or days:
        groups = {"currency": currency, "segment_id": segment_id, "collector_id": collector_id}
        kept = kept_sums(
            snapshots.in_groups(ChannelSnapshot.objects.filter(month__in=months), **groups),
            snapshots.in_groups(ChannelDaySnapshot.objects.filter(day__in=days), **groups),
            ("segment_id", "channel"),
            ("contacts", "followed"),
        )
        for row in kept:
            _add(totals[(row["segment_id"], row["channel"])], [row["contacts"], row["followed"]])
    live = live_counts(stretches, in_scope.order_by().values("pk")) if stretches else {}
    for (_, segment, _, channel), counts in live.items():
        _add(totals[(segment, channel)], counts)
    return dict(totals)


def kept_sums(by_month: QuerySet, by_day: QuerySet, keys: tuple[str, ...], figures: tuple[str, ...]):
    """The kept rows of the months and of the days, each summed per `keys`: one query (a UNION ALL).
    The caller adds the month's and the day's sums of a key together."""
    sums = {figure: Sum(figure) for figure in figures}
    parts = [
        queryset.order_by().values(*keys).annotate(**sums).values(*keys, *figures)
        for queryset in (by_month, by_day)
    ]
    return parts[0].union(parts[1], all=True)


def kept_stretches(
    first: date, last: date, *, answers: bool = False
) -> tuple[list[date], list[date], list[tuple[date, date]]]:
    """What first..last reads from the kept figures, and what live: the fresh kept months lying wholly
    inside it, the fresh kept days inside it outside those months, and the stretches neither covers
    (adjacent days joined). Fresh: both marks clear, or for the portal's `answers` (which no payment
    moves) `stale` alone. One query."""
    fresh = Q(stale=False) if answers else Q(stale=False, followed_stale=False)
    candidates = []
    month = first.replace(day=1) if first.day == 1 else add_months(first.replace(day=1), 1)
    while month_last_day(month) <= last:
        candidates.append(month)
        month = add_months(month, 1)
    kind = Value("month", output_field=CharField())
    found = (
        ChannelMonth.objects.filter(fresh, month__in=candidates)
        .values_list("month", kind)
        .union(
            ChannelDay.objects.filter(fresh, day__gte=first, day__lte=last).values_list(
                "day", Value("day", output_field=CharField())
            ),
            all=True,
        )
    )
    marks = [(as_date(day), what) for day, what in found]
    months = sorted(day for day, what in marks if what == "month")
    in_months = {day for month in months for day in _days_between(month, month_last_day(month))}
    days = sorted(day for day, what in marks if what == "day" and day not in in_months)
    covered = sorted([(month, month_last_day(month)) for month in months] + [(day, day) for day in days])
    return months, days, _gaps(first, last, covered)


def _gaps(first: date, last: date, covered: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """The stretches of first..last outside the covered (sorted, disjoint) stretches, adjacent days
    joined."""
    stretches, start = [], first
    for begin, end in covered:
        if begin > start:
            stretches.append((start, begin - timedelta(days=1)))
        start = max(start, end + timedelta(days=1))
    if start <= last:
        stretches.append((start, last))
    return stretches


def _joined(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as stretches of consecutive days."""
    stretches: list[tuple[date, date]] = []
    for day in days:
        if stretches and stretches[-1][1] == day - timedelta(days=1):
            stretches[-1] = (stretches[-1][0], day)
        else:
            stretches.append((day, day))
    return stretches


def _days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _add(into: list[int], more: list[int]) -> None:
    into[0] += more[0]
    into[1] += more[1]


def segment_names(segment_ids) -> dict[int, str]:
    return {pk: segment.name for pk, segment in Segment.objects.in_bulk(set(segment_ids) - {0}).items()}
