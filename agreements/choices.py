"""The words of the agreements app."""

from django.db import models


class AgreementKind(models.TextChoices):
    PROMISE = "promise", "Promise to pay"
    PLAN = "plan", "Payment plan"


class AgreementState(models.TextChoices):
    ACTIVE = "active", "Active"
    KEPT = "kept", "Kept"
    BROKEN = "broken", "Broken"
    CANCELLED = "cancelled", "Cancelled"


class InstalmentState(models.TextChoices):
    PENDING = "pending", "Pending"
    PAID = "paid", "Paid"
    MISSED = "missed", "Missed"
