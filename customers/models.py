"""Customers, the people we speak to there, and the segments that group them."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from .choices import Channel, Currency
from .fields import CurrencyField, MailboxField, MoneyField, known_currency_constraint


class Segment(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    # A customer whose average lateness passes this is proposed for prepayment only (dunning run).
    lateness_threshold_days = models.PositiveIntegerField(
        default=30, help_text="Average days late past which customers are proposed for prepayment only."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    account_number = models.CharField(max_length=40, unique=True, help_text="The ERP's key for the account.")
    name = models.CharField(max_length=200, db_index=True)
    segment = models.ForeignKey(
        Segment, on_delete=models.PROTECT, related_name="customers", null=True, blank=True
    )
    currency = CurrencyField(default=Currency.EUR)
    payment_terms_days = models.PositiveIntegerField(default=30)
    credit_limit = MoneyField(default=0)
    preferred_channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="portfolio",
        help_text="The collector whose portfolio holds this customer.",
    )
    credit_hold = models.BooleanField(default=False)
    prepayment_only = models.BooleanField(default=False)
    dunning_paused_until = models.DateField(null=True, blank=True)
    email = MailboxField(blank=True, help_text="Accounts-payable mailbox for reminders.")
    phone = models.CharField(max_length=40, blank=True)
    address_line = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 country code.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(credit_limit__gte=0),
                name="customer_credit_limit_not_negative",
                violation_error_message="The credit limit cannot be negative.",
            ),
            known_currency_constraint("customer"),
        ]
        # The newest change: part of every cached dashboard section's key (reports/section_stamps.py),
        # read on each request; and an integrator's "changed since" (the API orders by it).
        indexes = [models.Index(fields=["updated_at"], name="customer_updated_at")]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_number})"


class Contact(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=100, blank=True, help_text="e.g. Accounts payable, CFO")
    email = MailboxField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    is_primary = models.BooleanField(default=False)
    verified_at = models.DateTimeField(
        null=True, blank=True, help_text="When the details were last confirmed."
    )

    class Meta:
        ordering = ["-is_primary", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(is_primary=True),
                name="contact_one_primary_per_customer",
                violation_error_message="A customer has only one primary contact.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.customer.account_number})"


class PortalLink(models.Model):
    """A customer's personal link to the self-service portal (`/p/<token>/`), sent in reminders.

    Only the SHA-256 of the token is stored: a copy of this table opens nothing. The token itself
    exists only in the message it was minted for (customers.portal_links.mint_link).
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="portal_links")
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "revoked_at"])]

    def __str__(self) -> str:
        return f"Portal link of customer {self.customer_id} until {self.expires_at:%Y-%m-%d}"


class ContactChangeState(models.TextChoices):
    PENDING = "pending", "Pending"
    CONFIRMED = "confirmed", "Confirmed"
    REJECTED = "rejected", "Rejected"


class ContactChange(models.Model):
    """A new accounts-payable contact a customer gave through the portal, until a collector confirms it."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contact_changes")
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=100, blank=True, default="Accounts payable")
    email = MailboxField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    state = models.CharField(
        max_length=10, choices=ContactChangeState.choices, default=ContactChangeState.PENDING
    )
    submitted_on = models.DateField()
    decided_on = models.DateField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="The contact made from it once confirmed.",
    )  # fmt: skip

    class Meta:
        ordering = ["-submitted_on", "-id"]
        constraints = [
            # A repeated submission replaces the pending one instead of queueing a twin (services).
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(state="pending"),
                name="contact_change_one_pending_per_customer",
                violation_error_message="This customer already has a contact change waiting.",
            )
        ]

    def __str__(self) -> str:
        return f"Contact change for {self.customer_id}: {self.name} ({self.state})"


class PortalSubmission(models.Model):
    """One form sent through a portal link, by the random key the form carried: a form sent twice (a
    double click, a retried request) is recorded once, which the unique constraint enforces."""

    link = models.ForeignKey(PortalLink, on_delete=models.CASCADE, related_name="submissions")
    key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["link", "key"], name="portal_submission_once")]

    def __str__(self) -> str:
        return f"Submission {self.key} through link {self.link_id}"
