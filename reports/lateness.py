"""Each customer's amount-weighted days late over the last 12 months, in week-wide bins: the
distributions the forecast spreads open invoices by (reports/forecast.py), kept in `LatenessBin`.

One definition, `live_bins`: the money received in the 12 months to a day, per (customer, currency,
bin of days late). The kept rows are written from it as of a day and read by the forecast for that day
only when every kept row is of it (`kept_bins`); any other day, or a table part-way through a day's
rebuild, is computed live by the same query: slower, never different.

Kept in step: a payment or an invoice change (customers.signals facts "payments", "invoices") re-keeps
the announced customers as of today in the writer's transaction (reports/receivers.py); the nightly
task `reports.tasks.rebuild_lateness` rewrites every row as of the new day (the window moved);
`manage.py rebuild_lateness [--check]` rebuilds, or reports the customers whose rows differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Count, F, Max, Min, QuerySet, Sum, Value
from django.db.models.functions import Greatest, Least

from customers.bulk import replace_rows
from customers.models import Customer
from invoices.models import Allocation

from .expressions import DaysBetween, cents
from .ledger import LedgerScope
from .models import LatenessBin

HISTORY_DAYS = 365
LATE_BIN_DAYS = 7
LAST_LATE_BIN = 52  # a year late and more share one bin
# The facts (customers.signals) that can change a customer's bins: its payments and allocations, and
# its invoices (a cancelled or written-off invoice leaves the receivables the bins are read from).
LATENESS_FACTS = {"payments", "invoices"}
CHUNK = 5000
# The columns every source of bins gives, in this order (the forecast's SQL reads them by name).
COLUMNS = ("cid", "sid", "currency", "bin", "amt", "amt_days", "cnt")


def scoped_customers(scope: LedgerScope) -> QuerySet[Customer]:
    customers = Customer.objects.all() if scope.customers is None else scope.customers
    if scope.segment_id:
        customers = customers.filter(segment_id=scope.segment_id)
    if scope.collector_id:
        customers = customers.filter(collector_id=scope.collector_id)
    return customers


def live_bins(as_of: date, scope: LedgerScope) -> QuerySet:
    """Days late of the money received in the 12 months to `as_of` per (customer, currency, bin): amount,
    amount x days late and allocations counted (days late from the due date, early payments as 0)."""
    return received_bins(scope, after=as_of - timedelta(days=HISTORY_DAYS), through=as_of)


def received_bins(scope: LedgerScope, *, after: date, through: date, **also) -> QuerySet:
    """`live_bins` of the money received in (after, through], grouped by the expressions `also` too
    (of the allocation) besides the COLUMNS."""
    days_late = Greatest(DaysBetween(F("payment__received_on"), F("invoice__due_date")), Value(0))
    return (
        scope.filter(Allocation.objects.all(), prefix="invoice__")
        .filter(payment__received_on__gt=after, payment__received_on__lte=through)
        .annotate(late=days_late)
        .values(
            cid=F("invoice__customer_id"),
            sid=F("invoice__customer__segment_id"),
            currency=F("invoice__currency"),
            bin=Least(F("late") / Value(LATE_BIN_DAYS), Value(LAST_LATE_BIN)),
            **also,
        )
        .annotate(amt=Sum("amount"), amt_days=Sum(F("amount") * F("late")), cnt=Count("id"))
        .order_by()
    )


def kept_rows(model, as_of: date, scope: LedgerScope) -> QuerySet | None:
    """A kept per-customer table's rows in the scope (its `customer` and `currency`) when every row is of
    `as_of`; None otherwise (compute live). One query: the ends of its as_of index."""
    rows = model.objects.all()
    days = rows.aggregate(first=Min("as_of"), last=Max("as_of"))
    if not days["first"] == days["last"] == as_of:
        return None
    if scope.currency:
        rows = rows.filter(currency=scope.currency)
    if scope.customers is not None or scope.segment_id or scope.collector_id:
        rows = rows.filter(customer__in=scoped_customers(scope).values("pk"))
    return rows


def kept_bins(as_of: date, scope: LedgerScope) -> QuerySet | None:
    """The kept bins in the scope when every kept row is of `as_of` (None otherwise: compute live)."""
    rows = kept_rows(LatenessBin, as_of, scope)
    if rows is None:
        return None
    return rows.values(
        "currency",
        "bin",
        cid=F("customer_id"),
        sid=F("customer__segment_id"),
        amt=F("amount"),
        amt_days=F("amount_days"),
        cnt=F("paid"),
    ).order_by()


def bins_of(as_of: date, scope: LedgerScope) -> QuerySet:
    """The bins the forecast as of `as_of` reads: kept when they are of that day, else live."""
    kept = kept_bins(as_of, scope)
    return kept if kept is not None else live_bins(as_of, scope)


def _computed(customer_ids: list[int], *, as_of: date) -> list[LatenessBin]:
    rows = live_bins(as_of, LedgerScope(customers=Customer.objects.filter(pk__in=customer_ids)))
    return [
        LatenessBin(
            customer_id=row["cid"],
            currency=row["currency"],
            bin=row["bin"],
            amount=cents(row["amt"]),
            amount_days=cents(row["amt_days"]),
            paid=row["cnt"],
            as_of=as_of,
        )  # fmt: skip
        for row in rows
    ]


def _chunks(ids: Iterable[int]):
    ids = sorted(set(ids))
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def refresh_lateness(customer_ids: Iterable[int] | None = None, *, as_of: date) -> int:
    """Rewrite the bins of these customers (None: everyone) as of `as_of`; returns the rows kept.
    Two statements per CHUNK of customers, in one transaction."""
    if customer_ids is None:
        customer_ids = Customer.objects.values_list("pk", flat=True)
    count = 0
    with transaction.atomic(savepoint=False):
        for chunk in _chunks(customer_ids):
            rows = _computed(chunk, as_of=as_of)
            replace_rows(LatenessBin, rows, customer_ids=chunk, unique_fields=("customer", "currency", "bin"))
            count += len(rows)
    return count


def lateness_drift(*, as_of: date) -> list[int]:
    """Customers whose kept bins differ from a recomputation as of `as_of` (or are of another day)."""
    wrong = set(LatenessBin.objects.exclude(as_of=as_of).values_list("customer_id", flat=True))
    for chunk in _chunks(Customer.objects.values_list("pk", flat=True)):
        kept = {
            (row.customer_id, row.currency, row.bin): (row.amount, row.amount_days, row.paid)
            for row in LatenessBin.objects.filter(customer_id__in=chunk)
        }
        computed = {
            (row.customer_id, row.currency, row.bin): (row.amount, row.amount_days, row.paid)
            for row in _computed(chunk, as_of=as_of)
        }
        wrong |= {key[0] for key in set(kept) ^ set(computed)}
        wrong |= {key[0] for key in set(kept) & set(computed) if kept[key] != computed[key]}
    return sorted(wrong)
