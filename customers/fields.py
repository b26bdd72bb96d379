"""Field shapes shared by every app: money is a Decimal with a currency beside it, never a float."""

from decimal import Decimal

from django.db import models

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
