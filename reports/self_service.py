"""How customers use the portal: the share of disputes, promises and plans that came through it, and
how many days after a reminder a customer answers, through the portal and by phone. Aggregated in SQL
(one query per figure), over the 12 months before the as-of day.

The source of an answer is the channel of the interaction it was made in ("portal": the customer
through their personal link; calls.models.Interaction.channel), so no second flag can disagree.
"""

from datetime import date, timedelta

from django.db.models import Avg, Count, DateField, DurationField, ExpressionWrapper, F, OuterRef, Q, Subquery
from django.db.models.functions import Cast

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
    from the customer's latest reminder before the answer to the answer."""
    since = as_of - timedelta(days=WINDOW_DAYS)
    answered_on = Cast("occurred_at", DateField())
    latest_reminder = (
        Reminder.objects.filter(customer_id=OuterRef("customer_id"), run_on__lte=OuterRef("answered_on"))
        .order_by("-run_on")
        .values("run_on")[:1]
    )
    rows = (
        Interaction.objects.filter(
            channel__in=("portal", "phone"), occurred_at__date__gt=since, occurred_at__date__lte=as_of
        )
        .exclude(outcome__in=NOT_AN_ANSWER)
        .annotate(answered_on=answered_on, reminded_on=Subquery(latest_reminder))
        .filter(reminded_on__isnull=False)
        .values("channel")
        .annotate(
            answers=Count("pk"),
            average=Avg(ExpressionWrapper(F("answered_on") - F("reminded_on"), output_field=DurationField())),
        )
        .order_by("channel")
    )
    return [
        {
            "channel": row["channel"],
            "answers": row["answers"],
            "average_days": round(row["average"].total_seconds() / 86400, 1)
            if row["average"] is not None
            else None,
        }
        for row in rows
    ]
