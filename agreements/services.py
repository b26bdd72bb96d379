"""Writes to agreements: promises to pay and payment plans, made and cancelled.

(The daily check that marks instalments paid or missed, and agreements kept or broken, belongs to
the dunning run and is added beside these functions.)
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from customers.models import Customer
from invoices.models import Invoice

from .choices import AgreementKind, AgreementState
from .models import Agreement, Instalment


@dataclass(frozen=True)
class InstalmentTerms:
    due_date: date
    amount: Decimal


def create_agreement(
    *,
    customer: Customer,
    kind: str,
    instalments: Sequence[InstalmentTerms],
    invoices: Iterable[Invoice] = (),
    made_on: date,
    made_by=None,
    grace_days: int = 3,
    notes: str = "",
) -> Agreement:
    """Record what the customer committed to. A promise has one instalment, a plan two or more.

    Instalment dates cannot precede the day it was made; the invoices must be the customer's, in one
    currency, and the total is the sum of the instalments in that currency.
    """
    invoices = list(invoices)
    currency = validate_terms(
        customer=customer, kind=kind, instalments=instalments, invoices=invoices, made_on=made_on
    )
    with transaction.atomic():
        agreement = Agreement.objects.create(
            customer=customer,
            kind=kind,
            currency=currency,
            total_amount=sum((terms.amount for terms in instalments), Decimal("0")),
            made_on=made_on,
            made_by=made_by,
            grace_days=grace_days,
            notes=notes,
        )
        Instalment.objects.bulk_create(
            Instalment(agreement=agreement, sequence=number, due_date=terms.due_date, amount=terms.amount)
            for number, terms in enumerate(sorted(instalments, key=lambda t: t.due_date), start=1)
        )
        agreement.invoices.set(invoices)
        return agreement


def validate_terms(*, customer, kind, instalments, invoices, made_on) -> str:
    """Check an agreement's terms; return its currency. Raises ValidationError per field."""
    errors: dict[str, list[str]] = {}
    if kind not in AgreementKind.values:
        errors.setdefault("kind", []).append(f"Unknown kind {kind!r}: use promise or plan.")
    if not instalments:
        errors.setdefault("instalments", []).append("Give at least one date and amount.")
    elif kind == AgreementKind.PROMISE and len(instalments) != 1:
        errors.setdefault("instalments", []).append("A promise to pay has exactly one date and amount.")
    elif kind == AgreementKind.PLAN and len(instalments) < 2:
        errors.setdefault("instalments", []).append("A payment plan has at least two instalments.")
    for index, terms in enumerate(instalments):
        if terms.amount is None or terms.amount <= 0:
            errors.setdefault(f"instalments[{index}].amount", []).append("Must be a positive amount.")
        if terms.due_date is None or terms.due_date < made_on:
            errors.setdefault(f"instalments[{index}].due_date", []).append(
                "Cannot be before the agreement was made."
            )
    if any(invoice.customer_id != customer.pk for invoice in invoices):
        errors.setdefault("invoices", []).append("Every invoice must belong to this customer.")
    currencies = {invoice.currency for invoice in invoices} or {customer.currency}
    if len(currencies) > 1:
        errors.setdefault("invoices", []).append("One agreement covers invoices of one currency.")
    if errors:
        raise ValidationError(errors)
    return currencies.pop()


def cancel_agreement(*, agreement: Agreement, today: date) -> Agreement:
    """Withdraw an active agreement (e.g. replaced by a new one); the chase resumes."""
    if agreement.state != AgreementState.ACTIVE:
        raise ValidationError(
            {"state": f"Only an active agreement can be cancelled; this one is {agreement.state}."}
        )
    agreement.state = AgreementState.CANCELLED
    agreement.closed_on = today
    agreement.save(update_fields=["state", "closed_on"])
    return agreement
