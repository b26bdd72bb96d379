"""Reads over invoices: open amounts and statuses that follow from allocations."""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import (
    Case,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Round

from customers.fields import MONEY_DIGITS, MONEY_PLACES
from customers.models import Customer

from .choices import InvoiceStatus
from .models import Allocation, Invoice

MONEY = DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
ZERO = Value(Decimal("0.00"), output_field=MONEY)
# Statuses that outrank what allocations say: a person decided them.
DECIDED_STATUSES = (InvoiceStatus.CANCELLED, InvoiceStatus.WRITTEN_OFF, InvoiceStatus.DISPUTED)


def allocated_sum(as_of: date | None = None) -> Round:
    """Sum of allocations to the outer invoice, from payments received on or before `as_of`."""
    allocations = Allocation.objects.filter(invoice=OuterRef("pk"))
    if as_of is not None:
        allocations = allocations.filter(payment__received_on__lte=as_of)
    total = allocations.order_by().values("invoice").annotate(total=Sum("amount")).values("total")
    # SQLite sums decimals as floats (806.61 can come back as 806.6100000000001): round to cents so
    # an invoice paid in parts is exactly paid, as it is on PostgreSQL.
    return Round(
        Coalesce(Subquery(total, output_field=MONEY), ZERO, output_field=MONEY),
        MONEY_PLACES,
        output_field=MONEY,
    )


def with_balances(
    queryset: QuerySet[Invoice] | None = None, *, as_of: date | None = None
) -> QuerySet[Invoice]:
    """Invoices annotated with `paid` (allocated so far), `open_amount` and `balance_status`.

    Computed from the allocation rows themselves, not from the stored running sum, so it also
    answers for a past day (`as_of`) and stays correct whatever wrote the allocations.
    `balance_status` is the decided status (cancelled, written off, disputed) where one was set,
    otherwise "paid" when nothing is left open and "open" when something is.
    """
    queryset = Invoice.objects.all() if queryset is None else queryset
    return queryset.annotate(paid=allocated_sum(as_of)).annotate(
        open_amount=ExpressionWrapper(F("amount") - F("paid"), output_field=MONEY),
        balance_status=Case(
            When(status__in=DECIDED_STATUSES, then=F("status")),
            When(open_amount__lte=0, then=Value(InvoiceStatus.PAID.value)),
            default=Value(InvoiceStatus.OPEN.value),
        ),
    )


def open_invoices(queryset: QuerySet[Invoice] | None = None) -> QuerySet[Invoice]:
    """Invoices with money still owed and no decided status that stops the chase (uses the stored sum)."""
    queryset = Invoice.objects.all() if queryset is None else queryset
    return (
        queryset.filter(status__in=(InvoiceStatus.OPEN, InvoiceStatus.DISPUTED))
        .annotate(open_amount=ExpressionWrapper(F("amount") - F("allocated_amount"), output_field=MONEY))
        .filter(open_amount__gt=0)
    )


def days_overdue(invoice: Invoice, *, today: date) -> int:
    """Whole days past the due date on `today`; zero when not yet due."""
    return max((today - invoice.due_date).days, 0)


def invoices_numbered(*, customer: Customer, numbers: Sequence[str]) -> list[Invoice]:
    """The customer's invoices with these numbers, in the order named (each once).

    The lookup stays inside the customer (who is inside the user's portfolio), so an unknown number,
    another customer's and another portfolio's get the same answer: nothing outside the user's scope
    is told to exist.
    """
    wanted = list(dict.fromkeys(numbers))
    found = {i.number: i for i in Invoice.objects.filter(customer=customer, number__in=wanted)}
    missing = [number for number in wanted if number not in found]
    if missing:
        raise ValidationError(
            {"invoices": [f"{customer.account_number} has no invoice numbered {', '.join(missing[:10])}."]}
        )
    return [found[number] for number in wanted]
