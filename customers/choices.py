"""The words of the customers app: channels a customer prefers and the currencies we keep."""

from django.db import models


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    LETTER = "letter", "Letter"
    PHONE = "phone", "Phone"
    SMS = "sms", "SMS"


# ISO 4217 codes accepted on amounts. A closed list so a typo ("EUR " or "EU") is rejected early.
CURRENCY_CODES = (
    "EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "RON", "BGN",
    "CAD", "AUD", "NZD", "JPY", "CNY", "HKD", "SGD", "INR", "ZAR", "BRL", "MXN", "TRY",
)  # fmt: skip


Currency = models.TextChoices("Currency", [(code, code) for code in CURRENCY_CODES])
