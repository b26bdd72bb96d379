"""Writes to agreements: promises to pay and payment plans, made and cancelled.

(The daily check that marks instalments paid or missed, and agreements kept or broken, belongs to
the dunning run and is added beside these functions.)
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from audit.records import Change, record_changes
from customers.access import Actor, Capability, acting_user, require
from customers.models import Customer
from customers.signals import announce_change
from invoices.models import Allocation, Invoice, Payment

from .choices import AgreementKind, AgreementState, InstalmentState
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
    made_by: Actor,
    grace_days: int = 3,
    notes: str = "",
) -> Agreement:
    """Record what the customer committed to. A promise has one instalment, a plan two or more.

    Instalment dates cannot precede the day it was made; the invoices must be the customer's, in one
    currency, and the total is the sum of the instalments in that currency. `made_by` is the acting
    user, who must be one who logs calls (customers.access).
    """
    require(made_by, Capability.LOG_CALLS)
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
            made_by=acting_user(made_by),
            grace_days=grace_days,
            notes=notes,
        )
        Instalment.objects.bulk_create(
            Instalment(agreement=agreement, sequence=number, due_date=terms.due_date, amount=terms.amount)
            for number, terms in enumerate(sorted(instalments, key=lambda t: t.due_date), start=1)
        )
        agreement.invoices.set(invoices)
        # The agreement counts from the day it was made (reports' kept forecasts from then on move).
        announce_change(customer_ids={customer.pk}, facts={"agreements"}, earliest_day=made_on)
        return agreement


def validate_terms(
    *,
    customer: Customer,
    kind: str,
    instalments: Sequence[InstalmentTerms],
    invoices: Sequence[Invoice],
    made_on: date,
) -> str:
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


@transaction.atomic  # the change and its audit entry (signals) in one transaction
def cancel_agreement(*, agreement: Agreement, today: date, actor: Actor) -> Agreement:
    """Withdraw an active agreement (e.g. replaced by a new one); the chase resumes."""
    require(actor, Capability.LOG_CALLS)
    if agreement.state != AgreementState.ACTIVE:
        raise ValidationError(
            {"state": f"Only an active agreement can be cancelled; this one is {agreement.state}."}
        )
    agreement.state = AgreementState.CANCELLED
    agreement.closed_on = today
    agreement.save(update_fields=["state", "closed_on"])
    announce_change(customer_ids={agreement.customer_id}, facts={"agreements"}, earliest_day=today)
    return agreement


# --- The daily check (run by the dunning run) --------------------------------------------------


@dataclass
class AgreementCheck:
    """What the daily check changed: agreements broken (with the missed instalment) and kept."""

    broken: list[tuple[Agreement, Instalment]]
    kept: list[Agreement]


def check_agreements(*, today: date, customer_ids: Sequence[int] | None = None) -> AgreementCheck:
    """Settle the instalments of active agreements as of `today`; break or keep the agreements.

    Payments count toward an agreement from the day it was made: allocations to the invoices it
    covers, or, for an agreement covering no invoice, the customer's payments in its currency.
    Instalments are paid in order, each when the running total reaches it (settled on the day of the
    payment that got there). One unpaid `grace_days` after its date is missed, which breaks the
    agreement; one whose instalments are all paid is kept. Constant queries per call, and running it
    twice on a day changes nothing the second time.
    """
    agreements = list(
        Agreement.objects.filter(state=AgreementState.ACTIVE, made_on__lte=today)
        .filter(**({"customer_id__in": customer_ids} if customer_ids is not None else {}))
        .select_related("customer")
        .prefetch_related("instalments")
    )
    if not agreements:
        return AgreementCheck(broken=[], kept=[])
    receipts = _payments_toward(agreements, today)
    result = AgreementCheck(broken=[], kept=[])
    with transaction.atomic():
        changed_instalments: list[Instalment] = []
        changed_agreements: list[Agreement] = []
        for agreement in agreements:
            outcome = _settle_instalments(agreement, receipts.get(agreement.pk, []), today)
            changed_instalments += outcome.changed
            if outcome.missed is not None:
                _close_agreement(
                    agreement, AgreementState.BROKEN, today, _broken_note(agreement, outcome.missed)
                )
                result.broken.append((agreement, outcome.missed))
                changed_agreements.append(agreement)
            elif all(instalment.state == InstalmentState.PAID for instalment in agreement.instalments.all()):
                _close_agreement(
                    agreement, AgreementState.KEPT, today, f"{today}: kept, every instalment paid."
                )
                result.kept.append(agreement)
                changed_agreements.append(agreement)
        Instalment.objects.bulk_update(changed_instalments, ["state", "settled_on"])
        Agreement.objects.bulk_update(changed_agreements, ["state", "closed_on", "notes"])
        record_changes(
            Agreement,
            (Change(a.pk, a.customer_id, str(a), {"state": (AgreementState.ACTIVE, a.state),
                                                   "closed_on": (None, a.closed_on)})
             for a in changed_agreements),
        )  # fmt: skip
        # Closed today; an instalment is settled on the day its payment reached it (maybe earlier).
        settled = [i.settled_on for i in changed_instalments if i.settled_on is not None]
        announce_change(
            customer_ids={a.customer_id for a in changed_agreements},
            facts={"agreements"},
            earliest_day=min([today, *settled]),
        )
    return result


@dataclass
class InstalmentOutcome:
    changed: list[Instalment]
    missed: Instalment | None


def _settle_instalments(agreement: Agreement, receipts: list[tuple[date, Decimal]], today: date):
    """Mark paid the instalments the receipts cover, and find the first one missed after grace."""
    receipts = sorted(receipts)
    changed: list[Instalment] = []
    owed = Decimal("0")
    for instalment in agreement.instalments.all():
        owed += instalment.amount
        paid_on = _day_running_total_reaches(receipts, owed)
        if instalment.state == InstalmentState.PENDING and paid_on is not None:
            instalment.state, instalment.settled_on = InstalmentState.PAID, paid_on
            changed.append(instalment)
        elif instalment.state == InstalmentState.PENDING and today > _grace_end(agreement, instalment):
            instalment.state, instalment.settled_on = InstalmentState.MISSED, today
            changed.append(instalment)
            return InstalmentOutcome(changed, instalment)
    return InstalmentOutcome(changed, None)


def _grace_end(agreement: Agreement, instalment: Instalment) -> date:
    return instalment.due_date + timedelta(days=agreement.grace_days)


def _day_running_total_reaches(receipts: list[tuple[date, Decimal]], target: Decimal) -> date | None:
    total = Decimal("0")
    for received_on, amount in receipts:
        total += amount
        if total >= target:
            return received_on
    return None


def _payments_toward(agreements: list[Agreement], today: date) -> dict[int, list[tuple[date, Decimal]]]:
    """(received on, amount) of the money counted toward each agreement, made_on..today. Two queries."""
    by_id = {agreement.pk: agreement for agreement in agreements}
    receipts: dict[int, list[tuple[date, Decimal]]] = {pk: [] for pk in by_id}
    covered = Allocation.objects.filter(
        invoice__agreements__in=list(by_id), payment__received_on__lte=today
    ).values_list("invoice__agreements", "payment__received_on", "amount")
    with_invoices = set()
    for agreement_id, received_on, amount in covered:
        with_invoices.add(agreement_id)
        if received_on >= by_id[agreement_id].made_on:
            receipts[agreement_id].append((received_on, amount))
    with_invoices |= set(
        Agreement.invoices.through.objects.filter(agreement_id__in=list(by_id)).values_list(
            "agreement_id", flat=True
        )
    )
    loose = [agreement for agreement in agreements if agreement.pk not in with_invoices]
    if loose:
        payments = Payment.objects.filter(
            customer_id__in={a.customer_id for a in loose},
            received_on__gte=min(a.made_on for a in loose),
            received_on__lte=today,
        ).values_list("customer_id", "currency", "received_on", "amount")
        for customer_id, currency, received_on, amount in payments:
            for agreement in loose:
                if (agreement.customer_id, agreement.currency) == (customer_id, currency) and (
                    received_on >= agreement.made_on
                ):
                    receipts[agreement.pk].append((received_on, amount))
    return receipts


def _close_agreement(agreement: Agreement, state: str, today: date, note: str) -> None:
    agreement.state = state
    agreement.closed_on = today
    agreement.notes = f"{agreement.notes}\n{note}".strip()


def _broken_note(agreement: Agreement, missed: Instalment) -> str:
    return (
        f"{missed.settled_on}: broken, instalment #{missed.sequence} of {missed.amount} {agreement.currency} "
        f"due {missed.due_date} unpaid after {agreement.grace_days} days' grace."
    )
