"""How customers use the portal: the share of disputes, promises and plans that came through it, and
how many days after a reminder a customer answers, through the portal and by phone. Aggregated in SQL
(one query per figure), over the 12 months before the as-of day.

The source of an answer is the channel of the interaction it was made in ("portal": the customer
through their personal link; calls.models.Interaction.channel), so no second flag can disagree.
"""

from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from agreements.models import Agreement
from calls.models import Complaint, Interaction, PlanProposal
from dunning.models import Reminder

from . import channels
from .models import PortalAnswerDaySnapshot, PortalAnswerSnapshot

WINDOW_DAYS = 365
NOT_AN_ANSWER = ("no_answer", "voicemail", "wrong_number")
DEFINITION = (
    "Disputes, promises and plans made in the 12 months to the as-of day, and the share made by customers "
    "through their personal link. Days from reminder to answer: from the customer's latest reminder on or "
    "before the day of the answer (a portal answer, or a phone call that reached them) to that day."
)


def portal_share(*, as_of: date) -> list[dict]:
    """Disputes, promises and plans made in the window: how many, and how many through the portal.

    Each is matched against the few portal interactions (the partial index `interaction_portal`), not
    joined to its own interaction: the join read every interaction of the ledger (1.2M on the
    50,000-customer ledger, ~0.3 s for each of the two queries). One row per complaint and agreement
    either way (the links are one-to-one), so each counts once."""
    since = as_of - timedelta(days=WINDOW_DAYS)
    portal = Interaction.objects.filter(channel="portal").order_by()
    complaints = Complaint.objects.filter(opened_on__gt=since, opened_on__lte=as_of).aggregate(
        total=Count("pk"), portal=Count("pk", filter=Q(interaction__in=portal.values("pk")))
    )
    # A plan accepted from the portal is its proposal's (calls.services.decide_plan_proposal).
    proposed = PlanProposal.objects.filter(interaction__in=portal.values("pk")).values("agreement_id")
    agreements = Agreement.objects.filter(made_on__gt=since, made_on__lte=as_of).aggregate(
        promises=Count("pk", filter=Q(kind="promise")),
        promises_portal=Count("pk", filter=Q(kind="promise", pk__in=portal.values("agreement_id"))),
        plans=Count("pk", filter=Q(kind="plan")),
        plans_portal=Count("pk", filter=Q(kind="plan", pk__in=proposed)),
    )
    rows = [
        ("Disputes", complaints["total"], complaints["portal"]),
        ("Promises to pay", agreements["promises"], agreements["promises_portal"]),
        ("Payment plans", agreements["plans"], agreements["plans_portal"]),
    ]
    return [
        {
            "what": what,
            "total": total,
            "portal": portal,
            "share": round(100 * portal / total, 1) if total else None,
        }
        for what, total, portal in rows
    ]


def days_to_answer(*, as_of: date) -> list[dict]:
    """Per channel (portal, phone): answers in the window that followed a reminder, and the average days
    from the customer's latest reminder before the answer to the answer.

    Looking up each answer's latest reminder costs an index probe per answer (~170,000 a year on the
    20,000-customer ledger: seconds), so the sums of every complete past month and of the days no month
    covers are kept (PortalAnswerSnapshot, PortalAnswerDaySnapshot: filled and marked fresh or stale
    with the channel months and days of reports/channels.py); the rest of the window (today, and days
    marked stale since the fill) is read live. Three queries at most.
    """
    first, last = as_of - timedelta(days=WINDOW_DAYS - 1), as_of
    months, kept_days, stretches = channels.kept_stretches(first, last, answers=True)
    sums: dict[str, list[int]] = {}
    if months or kept_days:
        kept = channels.kept_sums(
            PortalAnswerSnapshot.objects.filter(month__in=months),
            PortalAnswerDaySnapshot.objects.filter(day__in=kept_days),
            ("channel",),
            ("answers", "days"),
        )
        for row in kept:
            found = sums.setdefault(row["channel"], [0, 0])
            found[0] += row["answers"]
            found[1] += row["days"]
    for channel, (answers, days) in (live_answer_sums(stretches) if stretches else {}).items():
        found = sums.setdefault(channel, [0, 0])
        found[0] += answers
        found[1] += days
    return [
        {"channel": channel, "answers": count, "average_days": round(int(total) / count, 1)}
        for channel, (count, total) in sorted(sums.items())
        if count
    ]


def live_answer_sums(stretches: list[tuple[date, date]]) -> dict[str, list[int]]:
    """[answers, days summed] per channel for the answers on the local days of the stretches (first, last
    included) that followed a reminder. One query (`_answer_sums`)."""
    return _answer_sums(stretches, by_day=False)


def _answer_sums(stretches: list[tuple[date, date]], *, by_day: bool) -> dict:
    """[answers, days summed] per channel, or per (day, channel) `by_day`, for the answers of the
    stretches that followed a reminder.

    Each answer's latest reminder is looked up once (a backward step of the reminders' (customer,
    run_on) index) in a materialised inner query, counted and summed outside: annotated, filtered and
    summed in one queryset, the lookup would run again for the WHERE. Days are instant ranges on
    `occurred_at` (not a conversion of every row's timestamp); the answer's day is its local day
    (TruncDate: a plain cast would take the UTC day, a day early in the first hours after midnight).
    """
    when = Q(pk__in=[])
    for first, last in stretches:
        when |= Q(
            occurred_at__gte=_local_midnight(first), occurred_at__lt=_local_midnight(last + timedelta(days=1))
        )
    latest_reminder = (
        Reminder.objects.filter(customer_id=OuterRef("customer_id"), run_on__lte=OuterRef("answered_on"))
        .order_by("-run_on")
        .values("run_on")[:1]
    )
    answers = (
        Interaction.objects.filter(when, channel__in=("portal", "phone"))
        .exclude(outcome__in=NOT_AN_ANSWER)
        .order_by()
        .annotate(answered_on=TruncDate("occurred_at"), reminded_on=Subquery(latest_reminder))
        .values("channel", "answered_on", "reminded_on")
    )
    inner, params = answers.query.sql_with_params()
    if connection.vendor == "sqlite":
        days, materialized = "julianday(answered_on) - julianday(reminded_on)", ""
    else:
        days, materialized = "answered_on - reminded_on", "MATERIALIZED"  # date - date: whole days
    day_column = "answered_on, " if by_day else ""
    sql = f"""
        WITH answers AS {materialized} ({inner})
        SELECT {day_column}channel, COUNT(*), SUM({days})
        FROM answers
        WHERE reminded_on IS NOT NULL
        GROUP BY {day_column}channel
    """  # noqa: S608 (only the ORM's own SQL and fixed fragments are formatted in; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if by_day:
            return {
                (channels.as_date(day), channel): [count, int(total)]
                for day, channel, count, total in cursor.fetchall()
            }
        return {channel: [count, int(total)] for channel, count, total in cursor.fetchall()}


def answer_month_rows(month: date) -> list[PortalAnswerSnapshot]:
    """The kept rows of one month, computed afresh (for channels.fill_months and its drift check)."""
    sums = live_answer_sums([(month, channels.month_last_day(month))])
    return [
        PortalAnswerSnapshot(month=month, channel=channel, answers=count, days=days)
        for channel, (count, days) in sorted(sums.items())
    ]


def answer_day_rows(stretches: list[tuple[date, date]]) -> list[PortalAnswerDaySnapshot]:
    """The kept rows of the days of the stretches, computed afresh (for channels.fill_days and its
    drift check). One query."""
    return [
        PortalAnswerDaySnapshot(day=day, channel=channel, answers=count, days=days)
        for (day, channel), (count, days) in sorted(_answer_sums(stretches, by_day=True).items())
    ]


def _local_midnight(day: date) -> datetime:
    """The first instant of `day` in the current time zone (as `__date` lookups read days)."""
    return timezone.make_aware(datetime.combine(day, time.min))
