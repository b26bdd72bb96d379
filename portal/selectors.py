"""What the portal shows: one customer's open invoices with where each stands in the chase.

Every read here starts from the link's customer; nothing takes another customer's id.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.db.models import F, QuerySet

from calls.models import PlanProposal
from calls.selectors import open_invoices_of, position_of
from customers.models import Customer
from dunning.models import ReminderInvoice
from dunning.selectors import (
    invoices_under_active_agreement,
    invoices_under_open_complaint,
    invoices_under_payment_claim,
)
from invoices.choices import InvoiceStatus
from invoices.models import Invoice


def answerable_invoices(customer: Customer) -> QuerySet[Invoice]:
    """The invoices a form may name: the customer's own, with money still open."""
    return Invoice.objects.filter(
        customer=customer,
        status__in=(InvoiceStatus.OPEN, InvoiceStatus.DISPUTED),
        allocated_amount__lt=F("amount"),
    ).order_by("due_date", "number")


def money_by_currency(invoices: Iterable[Invoice]) -> dict[str, Decimal]:
    """The open amount of the invoices per currency (never added across currencies)."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in invoices:
        totals[invoice.currency] += invoice.amount - invoice.allocated_amount
    return dict(totals)


def invoices_with_state(customer: Customer, *, today: date) -> list[Invoice]:
    """Open invoices, oldest due first, each with `dunning_state` in words (a constant number of queries)."""
    invoices = open_invoices_of(customer, today=today)
    ids = [customer.pk]
    disputed = invoices_under_open_complaint(ids)
    promised = invoices_under_active_agreement(ids)
    claimed = invoices_under_payment_claim(ids, today=today)
    last_reminder = {
        line.invoice_id: line.reminder
        for line in ReminderInvoice.objects.filter(invoice__in=[i.pk for i in invoices])
        .select_related("reminder")
        .order_by("invoice_id", "reminder__run_on")
    }  # ordered by day: the latest reminder of each invoice wins
    for invoice in invoices:
        # A display attribute for the portal's table, set on the page's own invoice objects.
        invoice.dunning_state = _state(  # type: ignore[attr-defined]
            invoice, disputed, promised, claimed, last_reminder.get(invoice.pk)
        )
    return invoices


def _state(invoice, disputed, promised, claimed, reminder) -> str:
    if invoice.pk in disputed or invoice.status == InvoiceStatus.DISPUTED:
        return "Disputed: reminders paused while we look into it"
    if invoice.pk in promised:
        return "Covered by your promise or plan"
    if invoice.pk in claimed:
        return "Reported paid: reminders paused while we find the payment"
    if reminder:
        return f"{reminder.get_tone_display()} reminder sent {reminder.run_on:%d %b %Y}"
    return "Overdue" if invoice.days_overdue else "Not yet due"


def page_context(customer: Customer, *, today: date) -> dict:
    return {
        "customer": customer,
        "today": today,
        "invoices": invoices_with_state(customer, today=today),
        "positions": position_of(customer, today=today),
        "proposals": list(PlanProposal.objects.filter(customer=customer).order_by("-proposed_on", "-id")[:3]),
        "collector": customer.collector,
    }
