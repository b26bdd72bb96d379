"""Everything said with a customer: interactions, excuses, complaints, and the tasks they leave."""

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import F, Q

from agreements.models import Agreement
from customers.fields import CurrencyField, MoneyField
from customers.models import Contact, Customer
from invoices.models import Invoice

from .choices import (
    ComplaintCategory,
    ComplaintOutcome,
    Direction,
    ExcuseCategory,
    InteractionChannel,
    Outcome,
    PlanProposalState,
    TaskKind,
    TaskStatus,
)


class Interaction(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="interactions")
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="interactions",
    )
    occurred_at = models.DateTimeField()
    channel = models.CharField(
        max_length=10, choices=InteractionChannel.choices, default=InteractionChannel.PHONE
    )
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.OUTBOUND)
    outcome = models.CharField(max_length=15, choices=Outcome.choices)
    minutes_spent = models.PositiveIntegerField(default=0)
    notes = models.TextField(blank=True)
    next_action_on = models.DateField(null=True, blank=True)
    agreement = models.OneToOneField(
        Agreement,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="interaction",
        help_text="The agreement made in this interaction.",
    )

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["customer", "occurred_at"]),
            # The reports read a few days of every customer's contacts (today's channel follow-through
            # and portal answers, the days a past day's effort differs from today's kept one).
            models.Index(fields=["occurred_at"], name="interaction_occurred"),
            # The portal's share of disputes, promises and plans looks up the few portal answers.
            models.Index(fields=["id"], condition=Q(channel="portal"), name="interaction_portal"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(minutes_spent__lte=24 * 60),
                name="interaction_minutes_within_a_day",
                violation_error_message="Minutes spent cannot exceed a day.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.occurred_at:%Y-%m-%d}: {self.get_outcome_display()}"


class Excuse(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="excuses")
    interaction = models.ForeignKey(
        Interaction, on_delete=models.SET_NULL, null=True, blank=True, related_name="excuses"
    )
    category = models.CharField(max_length=30, choices=ExcuseCategory.choices)
    words = models.TextField(blank=True, help_text="What the customer said, in their words.")
    given_on = models.DateField()
    invoices = models.ManyToManyField(Invoice, related_name="excuses", blank=True)

    class Meta:
        ordering = ["-given_on", "-id"]
        # (customer, given_on): the customer page's timeline reads the latest excuses first.
        indexes = [
            models.Index(fields=["customer", "category", "given_on"]),
            models.Index(fields=["customer", "given_on"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} ({self.given_on})"


class Complaint(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="complaints")
    interaction = models.ForeignKey(
        Interaction, on_delete=models.SET_NULL, null=True, blank=True, related_name="complaints"
    )
    category = models.CharField(max_length=20, choices=ComplaintCategory.choices)
    description = models.TextField()
    opened_on = models.DateField()
    resolved_on = models.DateField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=ComplaintOutcome.choices, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    invoices = models.ManyToManyField(Invoice, related_name="complaints", blank=True)

    class Meta:
        ordering = ["-opened_on", "-id"]
        # (customer, opened_on): the timeline reads the latest complaints first. (outcome, resolved_on):
        # the dashboard's latest rejections (reports.analytics.complaints_used_to_delay).
        indexes = [
            models.Index(fields=["customer", "resolved_on"]),
            models.Index(fields=["customer", "opened_on"]),
            models.Index(fields=["outcome", "resolved_on"], name="complaint_outcome_resolved"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(resolved_on__isnull=True) | Q(resolved_on__gte=F("opened_on")),
                name="complaint_resolved_not_before_opened",
                violation_error_message="A complaint cannot be resolved before it was opened.",
            ),
            models.CheckConstraint(
                condition=Q(resolved_on__isnull=True, outcome="")
                | (Q(resolved_on__isnull=False) & ~Q(outcome="")),
                name="complaint_outcome_with_resolution",
                violation_error_message="A resolved complaint needs an outcome, and only a resolved one.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} opened {self.opened_on}"

    @property
    def is_open(self) -> bool:
        return self.resolved_on is None


class Task(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tasks")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks"
    )
    kind = models.CharField(max_length=20, choices=TaskKind.choices, default=TaskKind.CALL)
    reason = models.CharField(max_length=300, help_text="Why, in words a collector reads at a glance.")
    due_on = models.DateField()
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    # Set by automated writers (dunning run, agreement checks) so a retry cannot create a twin.
    dedupe_key = models.CharField(max_length=120, unique=True, null=True, blank=True, editable=False)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["status", "due_on"]), models.Index(fields=["customer", "status"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.customer.name} by {self.due_on}"


class NullsLastIndex(models.Index):
    """An index with a key in DESC NULLS LAST order. SQLite (3.40, the embedded default) refuses NULLS
    FIRST/LAST in CREATE INDEX; there NULL is the smallest value, so plain DESC already puts it last, and
    the clause is left out on SQLite only."""

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor != "sqlite":
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        plain = self.clone()
        plain.expressions = tuple(
            models.OrderBy(key.expression, descending=key.descending)
            if isinstance(key, models.OrderBy)
            else key
            for key in self.expressions
        )
        return models.Index.create_sql(plain, model, schema_editor, using=using, **kwargs)


def day_list_indexes(sort: str, fields: list, include: list[str] | None = None) -> list[models.Index]:
    """Two indexes of the day's worklist in one sort order: everyone's (`standing_worklist_<sort>`) and
    one collector's portfolio (`standing_portfolio_<sort>`), over the rows on the list only.

    `fields` are names ("-name" descending) or, for an order a name cannot say (DESC NULLS LAST),
    expressions; then the whole index is written with expressions."""
    indexes = []
    for name, scope in (("worklist", []), ("portfolio", ["collector"])):
        keys = ["priority_as_of", *scope, *fields]
        options = {
            "condition": models.Q(on_worklist=True),
            "include": include,
            "name": f"standing_{name}_{sort}",
        }
        if all(isinstance(key, str) for key in keys):
            indexes.append(models.Index(fields=keys, **options))
        else:
            indexes.append(NullsLastIndex(*(F(k) if isinstance(k, str) else k for k in keys), **options))
    return indexes


class Standing(models.Model):
    """One row per customer: the time-independent facts the worklist needs, kept precomputed.

    Written only by `calls.standing` (the receiver of `customers.signals.customer_facts_changed`, in
    the transaction of the change, and `rebuild_standings`); see its docstring for what each column
    means and how the worklist derives its reasons from them.

    `overdue_amount` is the one fact that moves with the calendar: it is the open amount (customer's
    currency) of open invoices due before `overdue_as_of`, and `next_due_on` is the earliest due date
    of such invoices on or after that day. The amount therefore stays exact for every day from
    `overdue_as_of` through `next_due_on` (no invoice becomes overdue in between); outside that window
    the worklist recomputes it live for that row only, and a daily task rolls those rows forward.
    """

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, primary_key=True, related_name="standing"
    )
    # Earliest due date of open invoices with money still open, any currency (overdue once before today).
    oldest_open_due_on = models.DateField(null=True, blank=True)
    overdue_amount = MoneyField(default=0)
    overdue_as_of = models.DateField()
    next_due_on = models.DateField(null=True, blank=True)
    last_contact_at = models.DateTimeField(null=True, blank=True)
    # closed_on of the latest broken agreement: "broken and unhandled" is derived from it and last contact.
    latest_broken_on = models.DateField(null=True, blank=True)
    has_active_agreement = models.BooleanField(default=False)
    first_open_task_on = models.DateField(null=True, blank=True)
    last_open_task_on = models.DateField(null=True, blank=True)
    # The customer's collector, copied so a collector's worklist is one index range (no join to count).
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The reports app's kept worth-it score (reports.WorthItScore.score), copied for the same reason: the
    # worklist sorted or filtered by it is one index range, not a join to every kept score (50,000
    # customers: page 20 of the manager's list sorted by worth-it took 115 ms under load). Written with
    # the score by reports/scores.py, in its transaction; None while the customer has no kept score.
    worth_it_score = models.PositiveSmallIntegerField(null=True, blank=True)

    # The day's worklist as of `priority_as_of` (calls.standing, "The day's worklist"): restated with
    # the facts above and by the daily roll, so today's worklist is read in priority order from an
    # index instead of being computed over every customer of the portfolio.
    priority_as_of = models.DateField(null=True, blank=True)
    on_worklist = models.BooleanField(default=False)
    priority = models.IntegerField(default=0)
    overdue_since = models.DateField(null=True, blank=True)  # oldest overdue due date on that day
    reason_broken = models.BooleanField(default=False)
    reason_task = models.BooleanField(default=False)
    reason_promise_due = models.BooleanField(default=False)
    reason_overdue = models.BooleanField(default=False)
    # Flagged by the reports app's early warning (paying worse than usual) and not contacted for a week.
    reason_warning = models.BooleanField(default=False)

    FACTS = (
        "oldest_open_due_on",
        "overdue_amount",
        "overdue_as_of",
        "next_due_on",
        "last_contact_at",
        "latest_broken_on",
        "has_active_agreement",
        "first_open_task_on",
        "last_open_task_on",
        "collector",
        "worth_it_score",
    )
    DAY = (
        "priority_as_of",
        "on_worklist",
        "priority",
        "overdue_since",
        "reason_broken",
        "reason_task",
        "reason_promise_due",
        "reason_overdue",
        "reason_warning",
    )

    class Meta:
        indexes = [
            # Today's worklist in its default order ("-priority", oldest overdue, customer) is a walk of
            # these indexes from their start: page 20 reads 500 entries, not the portfolio. PostgreSQL's
            # ascending order already puts NULL (nothing overdue) last, as the worklist sorts.
            *day_list_indexes(
                "order", ["-priority", "overdue_since", "customer"], include=["worth_it_score"]
            ),
            # The other sorts: "amount" (-overdue_amount) and "days" (overdue_since, NULL last), each
            # carrying the other's column so the filters on amount and days overdue stay index-only
            # (50,000 customers: a seq scan and sort of the 22,000 rows of the day's list, 40-75 ms,
            # became a 2-7 ms index walk).
            *day_list_indexes(
                "amount", ["-overdue_amount", "customer"], include=["overdue_since", "worth_it_score"]
            ),
            *day_list_indexes(
                "days", ["overdue_since", "customer"], include=["overdue_amount", "worth_it_score"]
            ),
            # "worth_it": best first, unscored last (as the live sort), the score range filter in the key;
            # the other sorts carry the score too, so its range filter keeps them index-only.
            *day_list_indexes(
                "worth_it",
                [F("worth_it_score").desc(nulls_last=True), "customer"],
                include=["overdue_amount", "overdue_since"],
            ),
            # Finds rows not restated for today (the worklist then computes the day live).
            models.Index(fields=["priority_as_of"], name="standing_priority_as_of"),
        ]

    def __str__(self) -> str:
        return f"Standing of customer {self.customer_id}"


def private_storage() -> FileSystemStorage:
    """Files customers upload: outside MEDIA_ROOT and the static root, so no URL serves them directly;
    only the staff view `calls.views.complaint_attachment` does, after customers.access said yes."""
    return FileSystemStorage(location=settings.PRIVATE_MEDIA_ROOT, base_url=None)


class ComplaintAttachment(models.Model):
    """A document a customer sent with a dispute (PDF, PNG or JPEG; type checked by content)."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(storage=private_storage, upload_to="complaints/%Y/%m/")
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.original_name} ({self.size} bytes)"


class PaymentClaim(models.Model):
    """ "We already paid": what the customer says they paid; the collector's task is to find it.

    The reminders of its invoices pause until `pause_until` (the dunning run reads it).
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="payment_claims")
    interaction = models.ForeignKey(
        Interaction, on_delete=models.SET_NULL, null=True, blank=True, related_name="payment_claims"
    )
    paid_on = models.DateField()
    amount = MoneyField()
    currency = CurrencyField()
    reference = models.CharField(max_length=100)
    invoices = models.ManyToManyField(Invoice, related_name="payment_claims")
    pause_until = models.DateField(help_text="Reminders for its invoices resume on this day.")
    task = models.ForeignKey(Task, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_on = models.DateField()

    class Meta:
        ordering = ["-created_on", "-id"]
        indexes = [models.Index(fields=["customer", "pause_until"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="payment_claim_amount_positive",
                violation_error_message="The amount paid must be positive.",
            ),
            # The same payment reported twice (a resent form) is one claim.
            models.UniqueConstraint(
                fields=["customer", "paid_on", "reference"], name="payment_claim_once",
                violation_error_message="This payment was already reported.",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"Paid {self.amount} {self.currency} on {self.paid_on} ({self.reference})"


class PlanProposal(models.Model):
    """A payment plan the customer proposed; a credit manager accepts it (an Agreement) or declines it
    with a reason the customer reads on their page."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="plan_proposals")
    interaction = models.ForeignKey(
        Interaction, on_delete=models.SET_NULL, null=True, blank=True, related_name="plan_proposals"
    )
    invoices = models.ManyToManyField(Invoice, related_name="plan_proposals")
    currency = CurrencyField()
    # [{"due_date": "2026-12-01", "amount": "100.00"}, ...]: at most six, read by `terms()`.
    instalments = models.JSONField()
    state = models.CharField(
        max_length=10, choices=PlanProposalState.choices, default=PlanProposalState.PENDING
    )
    proposed_on = models.DateField()
    decided_on = models.DateField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decline_reason = models.TextField(blank=True)
    agreement = models.OneToOneField(
        Agreement, on_delete=models.SET_NULL, null=True, blank=True, related_name="proposal"
    )

    class Meta:
        ordering = ["-proposed_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(state="pending"),
                name="plan_proposal_one_pending_per_customer",
                violation_error_message="A proposed plan is already waiting for a decision.",
            )
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"Plan proposal of customer {self.customer_id} ({self.state})"
