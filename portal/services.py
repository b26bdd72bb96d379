"""The five answers a customer gives through their personal link, written through the same services a
collector's call log uses (calls, agreements, customers): there is no second write path.

Every answer is recorded as an inbound interaction on the channel "portal" (its source on the
timeline, in reports and on the agreement or complaint it made), leaves an open task "Portal: ..."
due today for the customer's collector (the worklist's reason), is audited through the channel
"portal", and is confirmed to the customer by email once committed. Each form carries a random
`submission` key recorded first (customers.PortalSubmission, unique per link): the same form sent twice
is recorded once and the repeat returns None. The portal acts as the system
(customers.access.SYSTEM): a customer is not a user, and the link decided which customer it is.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string

from agreements.services import InstalmentTerms
from audit.context import Channel, audit_context
from calls.choices import ComplaintCategory, Direction, InteractionChannel, Outcome, TaskKind
from calls.models import Interaction
from calls.services import (
    CallLog,
    ComplaintInput,
    attach_to_complaint,
    claim_payment,
    create_task,
    log_call,
    propose_plan,
)
from customers.access import SYSTEM
from customers.models import PortalLink
from customers.services import first_submission, submit_contact_change
from dunning.delivery import email_address
from invoices.models import Invoice

from .selectors import money_by_currency


@dataclass(frozen=True)
class Upload:
    name: str
    content: bytes
    content_type: str


def dispute(
    *,
    link: PortalLink,
    submission: str,
    invoices: list[Invoice],
    category: str,
    description: str,
    today: date,
    upload: Upload | None = None,
) -> Interaction | None:
    """An open complaint on the invoices (they are disputed, so dunning pauses for them)."""
    label = ComplaintCategory(category).label if category in ComplaintCategory.values else category
    call = _portal_call(
        link, Outcome.DISPUTE, invoices, complaint=ComplaintInput(category=category, description=description)
    )
    with _as_portal(), transaction.atomic():
        if not first_submission(link=link, key=submission):
            return None  # this very form was already recorded: nothing again
        interaction = log_call(customer=link.customer, user=SYSTEM, call=call, today=today)
        if upload:
            attach_to_complaint(
                complaint=interaction.complaints.get(), name=upload.name, content=upload.content,
                content_type=upload.content_type, actor=SYSTEM,
            )  # fmt: skip
        _task(link, f"disputed {_numbers(invoices)} ({label}): {description}", today)
        _confirm(link, "dispute", today, invoices=invoices, category=label, description=description)
    return interaction


def promise(
    *, link: PortalLink, submission: str, invoices: list[Invoice], pay_on: date, today: date
) -> Interaction | None:
    """An active promise agreement for the open amount of the invoices, paid by `pay_on` (no later than
    PORTAL_PROMISE_MAX_DAYS from today)."""
    limit = today + timedelta(days=settings.PORTAL_PROMISE_MAX_DAYS)
    if pay_on > limit:
        days = settings.PORTAL_PROMISE_MAX_DAYS
        raise ValidationError(
            {
                "pay_on": f"Choose a date no later than {limit:%d %B %Y} ({days} days); "
                "for longer, propose a payment plan."
            }
        )
    totals = money_by_currency(invoices)
    if len(totals) != 1:
        raise ValidationError(
            {"invoices": "Choose invoices of one currency (make one promise per currency)."}
        )
    ((currency, amount),) = totals.items()
    call = _portal_call(
        link, Outcome.PROMISE, invoices, promise=InstalmentTerms(due_date=pay_on, amount=amount)
    )
    with _as_portal(), transaction.atomic():
        if not first_submission(link=link, key=submission):
            return None  # this very form was already recorded: nothing again
        interaction = log_call(customer=link.customer, user=SYSTEM, call=call, today=today)
        _task(link, f"promised {currency} {amount} by {pay_on:%d %b} for {_numbers(invoices)}", today)
        _confirm(link, "promise", today, invoices=invoices, pay_on=pay_on, amount=f"{currency} {amount}")
    return interaction


def propose_payment_plan(
    *,
    link: PortalLink,
    submission: str,
    invoices: list[Invoice],
    instalments: list[InstalmentTerms],
    today: date,
) -> Interaction | None:
    """A pending plan proposal a credit manager accepts (an agreement) or declines with a reason."""
    call = _portal_call(link, Outcome.REACHED, [], notes="Proposed a payment plan, waiting for a decision.")
    with _as_portal(), transaction.atomic():
        if not first_submission(link=link, key=submission):
            return None  # this very form was already recorded: nothing again
        interaction = log_call(customer=link.customer, user=SYSTEM, call=call, today=today)
        propose_plan(
            customer=link.customer, invoices=invoices, instalments=instalments, actor=SYSTEM, today=today,
            interaction=interaction,
        )  # fmt: skip
        _task(
            link, f"plan of {len(instalments)} instalments proposed for {_numbers(invoices)}: decide", today
        )
        _confirm(link, "plan", today, invoices=invoices, instalments=instalments)
    return interaction


def already_paid(
    *,
    link: PortalLink,
    submission: str,
    invoices: list[Invoice],
    paid_on: date,
    amount: Decimal,
    reference: str,
    today: date,
) -> Interaction | None:
    """A task for the collector to find the payment; reminders for the invoices pause a few business days."""
    call = _portal_call(
        link, Outcome.REACHED, [], notes=f"Says already paid on {paid_on:%d %b %Y}, ref. {reference}."
    )
    with _as_portal(), transaction.atomic():
        if not first_submission(link=link, key=submission):
            return None  # this very form was already recorded: nothing again
        interaction = log_call(customer=link.customer, user=SYSTEM, call=call, today=today)
        claim = claim_payment(
            customer=link.customer, invoices=invoices, paid_on=paid_on, amount=amount, reference=reference,
            actor=SYSTEM, today=today, interaction=interaction,
            pause_business_days=settings.PORTAL_PAID_PAUSE_BUSINESS_DAYS,
        )  # fmt: skip
        _confirm(link, "paid", today, invoices=invoices, paid_on=paid_on, amount=amount, reference=reference,
                 pause_until=claim.pause_until)  # fmt: skip
    return interaction


def update_contact(*, link: PortalLink, submission: str, today: date, **values: str) -> Interaction | None:
    """A pending contact change a collector confirms."""
    call = _portal_call(
        link, Outcome.REACHED, [], notes=f"New accounts-payable contact: {values.get('name', '')}."
    )
    with _as_portal(), transaction.atomic():
        if not first_submission(link=link, key=submission):
            return None  # this very form was already recorded: nothing again
        interaction = log_call(customer=link.customer, user=SYSTEM, call=call, today=today)
        submit_contact_change(customer=link.customer, actor=SYSTEM, today=today, **values)
        _task(link, f"new contact {values.get('name', '')} to confirm", today)
        _confirm(link, "contact", today, contact=values)
    return interaction


# --- Shared by the five -----------------------------------------------------------------------------


def _as_portal():
    return audit_context(channel=Channel.PORTAL, user=None)


def _portal_call(link: PortalLink, outcome: str, invoices, **terms) -> CallLog:
    return CallLog(
        outcome=outcome, channel=InteractionChannel.PORTAL, direction=Direction.INBOUND, contact=link.contact,
        invoices=tuple(invoices), **terms,
    )  # fmt: skip


def _numbers(invoices) -> str:
    return ", ".join(invoice.number for invoice in invoices)


def _task(link: PortalLink, what: str, today: date) -> None:
    """The worklist's reason: an open task for the collector, its words starting with the source."""
    create_task(customer=link.customer, kind=TaskKind.PORTAL_ANSWER, reason=f"Portal: {what}", due_on=today,
                actor=SYSTEM)  # fmt: skip


def _confirm(link: PortalLink, action: str, today: date, **details) -> None:
    """Email the customer what we recorded, once the transaction commits (never for a rolled-back one).

    Rendered with autoescaping on, like every template: the customer's own words come back escaped."""
    recipient = (link.contact.email if link.contact and link.contact.email else "") or email_address(
        link.customer
    )
    if not recipient:
        return
    body = render_to_string(
        "portal/confirmation.txt",
        {
            "action": action,
            "customer": link.customer,
            "today": today,
            "sender": settings.DUNNING_SENDER,
            **details,
        },
    )
    message = EmailMessage(
        subject=f"We received your answer ({link.customer.account_number})",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
        headers={"X-CreditDesk-Portal": action},
    )
    transaction.on_commit(lambda: message.send(fail_silently=True))
