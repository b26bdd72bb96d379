"""The words of the invoices app."""

from django.db import models


class InvoiceStatus(models.TextChoices):
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    DISPUTED = "disputed", "Disputed"
    WRITTEN_OFF = "written_off", "Written off"
    CANCELLED = "cancelled", "Cancelled"


# Statuses a person sets; "open" and "paid" follow from allocations.
CLOSED_STATUSES = (InvoiceStatus.WRITTEN_OFF, InvoiceStatus.CANCELLED)
