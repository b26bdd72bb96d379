"""The words of the dunning app."""

from django.db import models


class StepChannel(models.TextChoices):
    EMAIL = "email", "Email"
    LETTER = "letter", "Letter (PDF)"
    CALL_TASK = "call_task", "Call task"
    SMS = "sms", "SMS"


class Tone(models.TextChoices):
    FRIENDLY = "friendly", "Friendly"
    POLITE = "polite", "Polite"
    FIRM = "firm", "Firm"
    FINAL = "final", "Final notice"


class StepAction(models.TextChoices):
    NONE = "", "None"
    CALL_TASK = "call_task", "Create a call task"
    CREDIT_HOLD = "credit_hold", "Propose credit hold"
    COLLECTION_AGENCY = "collection_agency", "Hand off to a collection agency"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class ProposalKind(models.TextChoices):
    PREPAYMENT_ONLY = "prepayment_only", "Prepayment only"
    CREDIT_HOLD = "credit_hold", "Credit hold"


class ProposalState(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    CONFIRMED = "confirmed", "Confirmed"
    DISMISSED = "dismissed", "Dismissed"
