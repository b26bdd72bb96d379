"""Which channel gets paid: outbound contacts in 12 months and the share followed by a payment.

A contact (an outbound call, email or letter logged as an interaction, or an email or letter reminder)
is followed through when the customer's first payment received on or after its day comes at most
FOLLOW_THROUGH_DAYS days later.

Why precomputed: the 20,000-customer ledger holds ~1.5M reminders and ~330k outbound interactions in
a year. Reading them at all takes seconds, whatever the join (probing each one's next payment through
an index took 9.5 s; one sorted pass over contacts and payments still 12 s). So the figures of every
complete past month are kept per (currency, segment, collector, channel) in ChannelSnapshot, filled by
the nightly snapshot task; a request reads those ~13 months of sums and only the days of the window
not covered by a fresh month live (the part of the first month inside the window and this month:
about 30 days).

A month's figures depend on its contacts and on payments up to FOLLOW_THROUGH_DAYS after it ends, so
a write dated `d` (customer_facts_changed's earliest_day) marks stale every month ending on or after
`d - FOLLOW_THROUGH_DAYS`; stale and missing months are read live until the nightly run refills them.
The portal's answers per month (reports/self_service.py, PortalAnswerSnapshot) are kept with the same
months and marks. Groups are the customers' segment and collector when filled, as for the daily
ledger snapshots (reports/snapshots.py, SnapshotAssignment): after a reassignment everything is read
live until the nightly run regroups.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
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
from .models import ChannelMonth, ChannelSnapshot, PortalAnswerSnapshot
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
    included). One query, however many stretches: each reads the tables once.

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
        .annotate(c_customer=F("customer_id"), c_day=F("received_on"))
        .values("c_customer", "c_day")
    )
    parts, params = [], []
    for queryset, is_contact in ((interactions, 1), (reminders, 1), (payments, 0)):
        sql, part_params = queryset.query.sql_with_params()
        channel = "c_channel" if is_contact else "NULL"
        parts.append(
            f"SELECT c_customer, c_day, {channel} AS c_channel, {is_contact} AS is_contact "
            f"FROM ({sql}) AS part"
        )
        params.extend(part_params)
    if connection.vendor == "sqlite":
        gap = "julianday(m.paid_on) - julianday(m.c_day)"
    else:
        gap = "m.paid_on - m.c_day"  # PostgreSQL: date - date is whole days
    sql = f"""
        WITH events AS ({" UNION ALL ".join(parts)}),
        marked AS (
            SELECT c_customer, c_day, c_channel, is_contact,
                   MIN(CASE WHEN is_contact = 0 THEN c_day END) OVER (
                       PARTITION BY c_customer ORDER BY c_day DESC, is_contact
                       ROWS UNBOUNDED PRECEDING
                   ) AS paid_on
            FROM events
        )
        SELECT c.currency, COALESCE(c.segment_id, 0), COALESCE(c.collector_id, 0), m.c_channel, COUNT(*),
               SUM(CASE WHEN m.paid_on IS NOT NULL AND {gap} <= %s THEN 1 ELSE 0 END)
        FROM marked m
        JOIN {Customer._meta.db_table} c ON c.id = m.c_customer
        WHERE m.is_contact = 1
        GROUP BY c.currency, COALESCE(c.segment_id, 0), COALESCE(c.collector_id, 0), m.c_channel
    """  # noqa: S608 (only table names and fixed fragments are formatted in; values are parameters)
    counts: dict[GroupKey, list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, FOLLOW_THROUGH_DAYS])
        for currency, segment_id, collector_id, channel, contacts, followed in cursor:
            counts[(currency, segment_id, collector_id, channel)] = [contacts, int(followed or 0)]
    return counts


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
            ChannelMonth.objects.update_or_create(month=month, defaults={"stale": False})
    return len(set(months))


def refresh(*, today: date, months: int = KEPT_MONTHS) -> int:
    """Fill the complete months among the last `months`, and any month kept before (a backfill reaching
    further back), that are missing or stale; returns how many. A repeat fills nothing.

    Run after snapshots.refresh (which regroups and drops these too when customers moved). A month is
    complete once it has ended; a payment arriving later for its last days marks it stale again.
    """
    this_month = today.replace(day=1)
    recent = {add_months(this_month, -back) for back in range(months, 0, -1)}
    kept = dict(ChannelMonth.objects.filter(month__lt=this_month).values_list("month", "stale"))
    return fill_months([month for month in recent | set(kept) if kept.get(month, True)])


def invalidate(*, since: date | None) -> None:
    """Mark stale every month a change dated `since` can have moved (None: all of them)."""
    months = ChannelMonth.objects.filter(stale=False)
    if since is not None:
        months = months.filter(month__gte=(since - timedelta(days=FOLLOW_THROUGH_DAYS)).replace(day=1))
    months.update(stale=True)


def drift(months: list[date] | None = None) -> list[date]:
    """The kept months (or `months`) whose stored figures differ from a live count."""
    kept = months or sorted(ChannelMonth.objects.filter(stale=False).values_list("month", flat=True))
    return [
        month
        for month in kept
        if _stored(month) != live_counts([(month, month_last_day(month))])
        or _stored_answers(month) != _answers(self_service.answer_month_rows(month))
    ]


def _stored_answers(month: date) -> set[tuple]:
    return _answers(PortalAnswerSnapshot.objects.filter(month=month))


def _answers(rows) -> set[tuple]:
    return {(row.channel, row.answers, row.days) for row in rows}


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

    Fresh complete months come from ChannelSnapshot (one query), the rest of the window live (one
    query for the days not covered). A portfolio (`customers`) or a customer moved since the
    fill reads everything live.
    """
    first, last = today - timedelta(days=WINDOW_DAYS - 1), today
    in_scope = Customer.objects.all() if customers is None else customers
    for field, value in (("currency", currency), ("segment_id", segment_id), ("collector_id", collector_id)):
        if value:
            in_scope = in_scope.filter(**{field: value})
    use_snapshots = customers is None and not snapshots.assignments_changed()
    covered = _covered_months(first, last) if use_snapshots else []
    totals: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    if covered:
        kept = snapshots.in_groups(
            ChannelSnapshot.objects.filter(month__in=covered),
            currency=currency,
            segment_id=segment_id,
            collector_id=collector_id,
        )
        for row in kept.values("segment_id", "channel", "contacts", "followed"):
            _add(totals[(row["segment_id"], row["channel"])], [row["contacts"], row["followed"]])
    stretches = _uncovered(first, last, covered)
    live = live_counts(stretches, in_scope.order_by().values("pk")) if stretches else {}
    for (_, segment, _, channel), counts in live.items():
        _add(totals[(segment, channel)], counts)
    return dict(totals)


def _add(into: list[int], more: list[int]) -> None:
    into[0] += more[0]
    into[1] += more[1]


def _covered_months(first: date, last: date) -> list[date]:
    """The fresh kept months lying wholly inside first..last."""
    candidates = []
    month = first.replace(day=1) if first.day == 1 else add_months(first.replace(day=1), 1)
    while month_last_day(month) <= last:
        candidates.append(month)
        month = add_months(month, 1)
    if not candidates:
        return []
    return sorted(
        ChannelMonth.objects.filter(month__in=candidates, stale=False).values_list("month", flat=True)
    )


def _uncovered(first: date, last: date, covered: list[date]) -> list[tuple[date, date]]:
    """The stretches of first..last outside the covered months, adjacent days joined."""
    stretches, start = [], first
    for month in covered:
        if month > start:
            stretches.append((start, month - timedelta(days=1)))
        start = month_last_day(month) + timedelta(days=1)
    if start <= last:
        stretches.append((start, last))
    return stretches


def segment_names(segment_ids) -> dict[int, str]:
    return {pk: segment.name for pk, segment in Segment.objects.in_bulk(set(segment_ids) - {0}).items()}
