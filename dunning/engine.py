"""The dunning engine: which steps are due for one customer on one day.

A pure function: it reads the facts it is given (policy, open invoices with what was already sent
for each, pause, today) and touches neither the database nor the clock, so a schedule is tested by
moving `today`.

How an invoice's step is chosen
-------------------------------
An invoice is *at* the highest step whose offset is at or before its days past due (days before
the due date count negative). That step is due today unless a step at that offset or later was
already sent for the invoice. So:

- a reminder is never sent twice for the same invoice and step, whatever day the run repeats;
- the ladder never steps back (a due date moved later does not bring back a friendlier tone);
- after a pause, a complaint, an agreement that was broken, or a weekend under a business-days-only
  policy, the invoice gets the step it is at *now*, not every step it missed: the chase resumes where
  it stood;
- a business-days-only policy sends nothing on Saturday and Sunday; on Monday each invoice gets the
  step it reached over the weekend, i.e. the step moves to the next business day.

Skipped: invoices that are paid, cancelled, written off or disputed, under an open complaint, or
covered by an agreement in good standing (active), or reported already paid (paused for a few business
days while the collector looks for the payment); every invoice of a customer paused until a later
date. The invoices of one customer at the same step are grouped into one reminder.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

CHASED_STATUS = "open"  # paid, disputed, written off and cancelled invoices are not chased


@dataclass(frozen=True)
class StepRule:
    """The part of a policy step the engine needs."""

    step_id: int
    offset_days: int


@dataclass(frozen=True)
class PolicyRules:
    steps: Sequence[StepRule]
    business_days_only: bool = False


@dataclass(frozen=True)
class InvoiceFacts:
    """One invoice as it stands today, with the offsets of the steps already sent for it."""

    invoice_id: int
    due_date: date
    status: str
    open_amount: Decimal
    under_open_complaint: bool = False
    covered_by_active_agreement: bool = False
    # The customer said "already paid" (calls.PaymentClaim) and its pause has not run out.
    under_payment_claim: bool = False
    sent_offsets: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class DueReminder:
    """One reminder to create: a step and the customer's invoices at that step today."""

    step_id: int
    offset_days: int
    invoice_ids: tuple[int, ...]


def due_reminders(
    *,
    policy: PolicyRules,
    invoices: Iterable[InvoiceFacts],
    today: date,
    paused_until: date | None = None,
) -> list[DueReminder]:
    """The reminders due for one customer today, one per step, lowest offset first."""
    if is_paused(paused_until, today) or not policy.steps:
        return []
    if policy.business_days_only and not is_business_day(today):
        return []
    steps = sorted(policy.steps, key=lambda step: step.offset_days)
    grouped: dict[StepRule, list[int]] = {}
    for invoice in invoices:
        if not is_chased(invoice):
            continue
        step = step_due_for(invoice, steps, today)
        if step is not None:
            grouped.setdefault(step, []).append(invoice.invoice_id)
    return [
        DueReminder(step.step_id, step.offset_days, tuple(sorted(ids)))
        for step, ids in sorted(grouped.items(), key=lambda item: item[0].offset_days)
    ]


def is_paused(paused_until: date | None, today: date) -> bool:
    """Paused *until* a date: reminders resume on that date."""
    return paused_until is not None and today < paused_until


def is_business_day(day: date) -> bool:
    return day.weekday() < 5


def is_chased(invoice: InvoiceFacts) -> bool:
    return (
        invoice.status == CHASED_STATUS
        and invoice.open_amount > 0
        and not invoice.under_open_complaint
        and not invoice.covered_by_active_agreement
        and not invoice.under_payment_claim
    )


def step_due_for(invoice: InvoiceFacts, steps: Sequence[StepRule], today: date) -> StepRule | None:
    """The step the invoice is at today, unless it (or a later one) was already sent for it."""
    days_past_due = (today - invoice.due_date).days
    reached = [step for step in steps if step.offset_days <= days_past_due]
    if not reached:
        return None
    current = reached[-1]
    if any(offset >= current.offset_days for offset in invoice.sent_offsets):
        return None
    return current


def earliest_offset(policies: Iterable[PolicyRules]) -> int | None:
    """The lowest offset of any step: invoices due later than today minus it need no look."""
    offsets = [step.offset_days for policy in policies for step in policy.steps]
    return min(offsets) if offsets else None
