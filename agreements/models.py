"""What a customer committed to: a promise to pay (one instalment) or a payment plan (several).

The interaction in which an agreement was made points here (calls.Interaction.agreement), since
apps depend downward only.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from customers.fields import CurrencyField, MoneyField, known_currency_constraint
from customers.models import Customer
from invoices.models import Invoice

from .choices import AgreementKind, AgreementState, InstalmentState


class Agreement(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="agreements")
    kind = models.CharField(max_length=10, choices=AgreementKind.choices)
    state = models.CharField(max_length=10, choices=AgreementState.choices, default=AgreementState.ACTIVE)
    currency = CurrencyField()
    total_amount = MoneyField()
    invoices = models.ManyToManyField(Invoice, related_name="agreements", blank=True)
    made_on = models.DateField()
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    grace_days = models.PositiveIntegerField(
        default=3, help_text="Days after an instalment's date before it counts as missed."
    )
    closed_on = models.DateField(null=True, blank=True, help_text="When it was kept, broken or cancelled.")
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-made_on", "-id"]
        # (customer, made_on) and (customer, closed_on): the customer page's timeline reads the
        # latest made and the latest closed agreements first, a page at a time.
        indexes = [
            models.Index(fields=["customer", "state"]),
            models.Index(fields=["customer", "made_on"]),
            models.Index(fields=["customer", "closed_on"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_amount__gt=0),
                name="agreement_total_positive",
                violation_error_message="An agreement must cover a positive amount.",
            ),
            models.CheckConstraint(
                condition=Q(state=AgreementState.ACTIVE, closed_on__isnull=True)
                | (~Q(state=AgreementState.ACTIVE) & Q(closed_on__isnull=False)),
                name="agreement_closed_on_matches_state",
                violation_error_message="A closed agreement needs its closing date; an active one has none.",
            ),
            known_currency_constraint("agreement"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.total_amount} {self.currency} ({self.get_state_display()})"


class Instalment(models.Model):
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="instalments")
    sequence = models.PositiveSmallIntegerField()
    due_date = models.DateField()
    amount = MoneyField()
    state = models.CharField(max_length=10, choices=InstalmentState.choices, default=InstalmentState.PENDING)
    settled_on = models.DateField(null=True, blank=True, help_text="When it was paid or found missed.")

    class Meta:
        ordering = ["agreement", "sequence"]
        indexes = [models.Index(fields=["state", "due_date"])]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "sequence"],
                name="instalment_sequence_unique",
                violation_error_message="Instalment numbers are unique within an agreement.",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="instalment_amount_positive",
                violation_error_message="An instalment must be a positive amount.",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.amount} on {self.due_date}"
