"""Dunning policies, their escalation steps, and the reminders a run creates.

A reminder is unique per (customer, step, run_on): any re-run, retry or concurrent run of the same
day is a no-op at the database.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from customers.fields import CurrencyField, MoneyField
from customers.models import Customer, Segment
from invoices.models import Invoice

from .choices import DeliveryStatus, ProposalKind, ProposalState, StepAction, StepChannel, Tone


class Policy(models.Model):
    name = models.CharField(max_length=100, unique=True)
    segment = models.OneToOneField(
        Segment, on_delete=models.CASCADE, null=True, blank=True, related_name="dunning_policy"
    )
    is_default = models.BooleanField(
        default=False, help_text="Used for customers whose segment has no policy."
    )
    business_days_only = models.BooleanField(
        default=False, help_text="A step falling on a weekend is sent on the next business day."
    )

    class Meta:
        verbose_name_plural = "policies"
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="policy_single_default",
                violation_error_message="There is already a default policy.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Step(models.Model):
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="steps")
    offset_days = models.IntegerField(help_text="Days from the due date: -3 is three days before.")
    channel = models.CharField(max_length=10, choices=StepChannel.choices)
    tone = models.CharField(max_length=10, choices=Tone.choices)
    action = models.CharField(max_length=20, choices=StepAction.choices, blank=True, default=StepAction.NONE)
    subject_template = models.CharField(max_length=200)
    body_template = models.TextField(help_text="Django template: customer, contact, invoices, totals.")

    class Meta:
        ordering = ["policy", "offset_days"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "offset_days"],
                name="step_offset_unique_per_policy",
                violation_error_message="This policy already has a step at that offset.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.policy}: {self.offset_label} days ({self.get_channel_display()})"

    @property
    def offset_label(self) -> str:
        return f"{'+' if self.offset_days >= 0 else ''}{self.offset_days}"

    def clean(self) -> None:
        # A template typo, or a probe for what it should not see, is refused when a credit manager
        # saves it, not found at 6am in the run (or in a customer's mailbox).
        from .rendering import template_problems

        errors = {}
        for name in ("subject_template", "body_template"):
            problems = template_problems(getattr(self, name) or "")
            if problems:
                errors[name] = problems
        if errors:
            raise ValidationError(errors)


class Reminder(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="reminders")
    step = models.ForeignKey(Step, on_delete=models.PROTECT, related_name="reminders")
    run_on = models.DateField()
    channel = models.CharField(max_length=10, choices=StepChannel.choices)
    tone = models.CharField(max_length=10, choices=Tone.choices)
    invoices = models.ManyToManyField(Invoice, through="ReminderInvoice", related_name="reminders")
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    letter_pdf = models.FileField(upload_to="letters/%Y/%m/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When a worker claimed the delivery (pending -> sending); a stale claim is a worker that died.
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The run that inserted the row: only that run writes its invoice lines.
    created_by_run = models.UUIDField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-run_on", "-id"]
        indexes = [models.Index(fields=["status", "run_on"]), models.Index(fields=["customer", "run_on"])]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "step", "run_on"],
                name="reminder_once_per_customer_step_day",
                violation_error_message="This reminder was already created for that day.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer.account_number} {self.step} on {self.run_on}"


class ReminderInvoice(models.Model):
    """An invoice listed on a reminder, with its open amount as it stood that day."""

    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="lines")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="reminder_lines")
    open_amount = MoneyField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reminder", "invoice"], name="reminder_invoice_once"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} on reminder {self.reminder_id}: {self.open_amount}"


class Proposal(models.Model):
    """A customer proposed for prepayment only or credit hold, until a credit manager decides.

    Prepayment only: "once bitten, twice shy" (see dunning.services.propose_prepayment for the rule).
    Credit hold: the final dunning step's action.

    A large ledger yields thousands of open proposals, so each carries what is at stake, as of
    `figures_on` (the run refreshes them daily while the proposal is open): the customer's open and
    overdue amounts in its own currency, its oldest overdue due date, agreements broken in twelve
    months and average days late, and the `stake` points they add up to (dunning.ranking). The page
    lists the highest stake first, on the (state, -stake) index.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="proposals")
    kind = models.CharField(max_length=20, choices=ProposalKind.choices)
    reason = models.CharField(max_length=300)
    proposed_on = models.DateField()
    state = models.CharField(max_length=10, choices=ProposalState.choices, default=ProposalState.PROPOSED)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_on = models.DateField(null=True, blank=True)
    # What is at stake, in the customer's currency (amounts of different currencies are never added).
    currency = CurrencyField(blank=True)
    open_amount = MoneyField(default=0)
    overdue_amount = MoneyField(default=0)
    oldest_due_date = models.DateField(null=True, blank=True, help_text="Of the oldest overdue invoice.")
    broken_agreements = models.PositiveSmallIntegerField(default=0, help_text="Broken in twelve months.")
    average_days_late = models.DecimalField(max_digits=6, decimal_places=1, default=0)
    stake = models.PositiveIntegerField(default=0, help_text="Rank points: higher is more pressing.")
    figures_on = models.DateField(null=True, blank=True, help_text="The day the figures above are of.")

    class Meta:
        ordering = ["-proposed_on", "-id"]
        indexes = [
            models.Index(fields=["state", "kind"]),
            models.Index(fields=["customer", "kind", "state"]),
            models.Index(fields=["state", "-stake", "oldest_due_date", "id"], name="proposal_state_stake"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind"],
                condition=Q(state=ProposalState.PROPOSED),
                name="proposal_one_open_per_customer_and_kind",
                violation_error_message="This customer already has an open proposal of this kind.",
            ),
            models.CheckConstraint(
                condition=Q(state=ProposalState.PROPOSED, decided_on__isnull=True)
                | (~Q(state=ProposalState.PROPOSED) & Q(decided_on__isnull=False)),
                name="proposal_decided_on_matches_state",
                violation_error_message="A decided proposal needs its decision date; an open one has none.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.customer_id} ({self.get_state_display()})"
