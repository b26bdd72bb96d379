"""Field shapes shared by every app: money is a Decimal with a currency beside it, never a float."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, models

from .choices import CURRENCY_CODES, Currency

MONEY_DIGITS = 14
MONEY_PLACES = 2
CENT = Decimal("0.01")


def MoneyField(verbose_name: str | None = None, **kwargs) -> models.DecimalField:  # noqa: N802
    kwargs.setdefault("max_digits", MONEY_DIGITS)
    kwargs.setdefault("decimal_places", MONEY_PLACES)
    return models.DecimalField(verbose_name, **kwargs)


def CurrencyField(verbose_name: str = "currency", **kwargs) -> models.CharField:  # noqa: N802
    kwargs.setdefault("max_length", 3)
    kwargs.setdefault("choices", Currency.choices)
    return models.CharField(verbose_name, **kwargs)


def known_currency_constraint(model_name: str, field: str = "currency") -> models.CheckConstraint:
    """A CHECK that keeps unknown currency codes out of the table, whatever path wrote them."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__in": CURRENCY_CODES}),
        name=f"{model_name}_known_currency",
        violation_error_message="Unknown currency: use an ISO 4217 code such as EUR, USD or GBP.",
    )


class FieldCheckConstraint(models.CheckConstraint):
    """A CHECK whose violation `full_clean` reports on one field (as the forms and the API show it)
    instead of on the record as a whole: the rule keeps one home, the constraint, and its message
    still names the field a person has to correct."""

    def __init__(self, *, field: str, **kwargs):
        super().__init__(**kwargs)
        self.field = field

    def validate(self, model, instance, exclude=None, using=DEFAULT_DB_ALIAS):
        try:
            super().validate(model, instance, exclude=exclude, using=using)
        except ValidationError as error:
            raise ValidationError({self.field: error.error_list}) from error

    def deconstruct(self):
        # Migrated exactly like a CheckConstraint: naming the field is Python only.
        _, args, kwargs = super().deconstruct()
        return "django.db.models.CheckConstraint", args, kwargs

    def clone(self):
        _, args, kwargs = self.deconstruct()
        return type(self)(*args, field=self.field, **kwargs)


class MailboxField(models.EmailField):
    """An e-mail address stored as mail servers read it: the domain in its ASCII (IDNA) form.

    `accounts@köln.example` is kept as `accounts@xn--kln-sna.example`, so every stored address is valid
    against the API's published `format: email` (which is ASCII) and reaches the same mailbox. A
    non-ASCII local part is refused by Django's EmailValidator. Every write goes through `full_clean`
    (services, forms, admin), which calls `to_python`.
    """

    def to_python(self, value):
        value = super().to_python(value)
        if not value or value.isascii() or "@" not in value:
            return value
        local, _, domain = value.strip().rpartition("@")
        try:
            return f"{local}@{domain.encode('idna').decode('ascii')}"
        except UnicodeError:
            return value  # not a domain name at all: the validator refuses it with its own message

    def deconstruct(self):
        # Stored and migrated exactly like an EmailField: the normalising is Python only.
        name, _, args, kwargs = super().deconstruct()
        return name, "django.db.models.EmailField", args, kwargs
