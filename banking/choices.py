"""The words of the banking app."""

from django.db import models


class Direction(models.TextChoices):
    CREDIT = "credit", "Credit (money in)"
    DEBIT = "debit", "Debit (money out)"


class TransactionStatus(models.TextChoices):
    APPLIED = "applied", "Applied automatically"
    CONFIRMED = "confirmed", "Confirmed by hand"
    QUEUED = "queued", "Waiting: suggestions to confirm"
    UNIDENTIFIED = "unidentified", "Waiting: payer unknown"
    DEBIT = "debit", "Debit (kept, not matched)"


# The transactions the queue page shows.
WAITING_STATUSES = (TransactionStatus.QUEUED, TransactionStatus.UNIDENTIFIED)


class StatementFormat(models.TextChoices):
    CAMT053 = "camt.053", "ISO 20022 camt.053"
    MT940 = "mt940", "SWIFT MT940"


class AccountSource(models.TextChoices):
    MASTER_DATA = "master_data", "Given as the customer's account"
    LEARNED = "learned", "Learned from a confirmed match"


class ShortPayment(models.TextChoices):
    """What happens to the few cents or euros a bank fee took off an invoice (BANKING_SHORT_PAYMENT)."""

    LEAVE_OPEN = "leave_open", "Leave the difference open"
    WRITE_OFF = "write_off", "Write the invoice off"
