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
from calls.models import Complaint, Interaction
from dunning.models import Reminder

WINDOW_DAYS = 365
NOT_AN_ANSWER = ("no_answer", "voicemail", "wrong_number")
DEFINITION = (
    "Disputes, promises and plans made in the 12 months to the as-of day, and the share made by customers "
    "through their personal link. Days from reminder to answer: from the customer's latest reminder on or "
    "before the day of the answer (a portal answer, or a phone call that reached them) to that day."
)


def _via_portal(path: str) -> Q:
    return Q(**{f"{path}__channel": "portal"})


def portal_share(*, as_of: date) -> list[dict]:
    """Disputes, promises and plans made in the window: how many, and how many through the portal."""
    since = as_of - timedelta(days=WINDOW_DAYS)
    complaints = Complaint.objects.filter(opened_on__gt=since, opened_on__lte=as_of).aggregate(
        total=Count("pk"), portal=Count("pk", filter=_via_portal("interaction"))
    )
    agreements = Agreement.objects.filter(made_on__gt=since, made_on__lte=as_of).aggregate(
        promises=Count("pk", filter=Q(kind="promise")),
        promises_portal=Count("pk", filter=Q(kind="promise") & _via_portal("interaction")),
        plans=Count("pk", filter=Q(kind="plan")),
        plans_portal=Count("pk", filter=Q(kind="plan") & _via_portal("proposal__interaction")),
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
    from the customer's latest reminder before the answer to the answer. One query.

    Each answer's latest reminder is looked up once (a backward step of the reminders' (customer,
    run_on) index) in an inner query, and the outer query counts and averages what it found: annotated
    and then filtered and averaged in one queryset, the ORM would repeat the lookup in the WHERE and in
    the AVG. The window is an instant range on `occurred_at` (the local days of `occurred_at__date`
    without converting every row's timestamp first); the answer's day is its local day (TruncDate: a
    plain cast would take the UTC day, a day early for answers in the first hours after midnight).
    """
    since = as_of - timedelta(days=WINDOW_DAYS)
    latest_reminder = (
        Reminder.objects.filter(customer_id=OuterRef("customer_id"), run_on__lte=OuterRef("answered_on"))
        .order_by("-run_on")
        .values("run_on")[:1]
    )
    answers = (
        Interaction.objects.filter(
            channel__in=("portal", "phone"),
            occurred_at__gte=_local_midnight(since + timedelta(days=1)),
            occurred_at__lt=_local_midnight(as_of + timedelta(days=1)),
        )
        .exclude(outcome__in=NOT_AN_ANSWER)
        .order_by()
        .annotate(answered_on=TruncDate("occurred_at"), reminded_on=Subquery(latest_reminder))
        .values("channel", "answered_on", "reminded_on")
    )
    inner, params = answers.query.sql_with_params()
    if connection.vendor == "sqlite":
        days = "julianday(answered_on) - julianday(reminded_on)"
    else:
        days = "answered_on - reminded_on"  # PostgreSQL: date - date is whole days
    sql = f"""
        SELECT channel, COUNT(*), SUM({days})
        FROM ({inner}) AS answers
        WHERE reminded_on IS NOT NULL
        GROUP BY channel
        ORDER BY channel
    """  # noqa: S608 (only the ORM's own SQL and fixed fragments are formatted in; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        {"channel": channel, "answers": count, "average_days": round(int(total) / count, 1)}
        for channel, count, total in rows
    ]


def _local_midnight(day: date) -> datetime:
    """The first instant of `day` in the current time zone (as `__date` lookups read days)."""
    return timezone.make_aware(datetime.combine(day, time.min))
