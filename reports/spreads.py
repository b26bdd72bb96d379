"""Each customer's part of the 13-week forecast, kept in `ForecastSpread` as of a day: its open invoices
spread over the weeks by its own days-late distribution, with the variance, the naive forecast and the
open total, per currency and week (reports/forecast.py reads them for that day).

Why kept: spreading ~100k open invoices over their customers' bins is ~400k (group, bin) rows, 1.7 s of
database CPU on the 20,000-customer ledger, every time the forecast is asked for. A customer's spread
moves only when its own invoices, payments, agreements or complaints do, so it is kept per customer and
the forecast sums ~10 rows per customer. Customers with too little history of their own are spread by
their segment's distribution within the forecast's scope, which no per-customer row can hold: their rows
keep the naive and open money only (`expected` NULL) and the forecast spreads their groups live.

One definition: the rows are the forecast's own statement (`forecast._spread_sql`, `by_customer`), so the
kept figures are the live ones to the millionth. Kept in step as LatenessBin is: the facts below re-keep the
announced customers as of today in the writer's transaction (reports/receivers.py, after their bins); the
nightly task `reports.tasks.rebuild_lateness` rewrites every row as of the new day (the weeks moved);
`manage.py rebuild_lateness [--check]` rebuilds both, or reports the customers whose rows differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from django.db import router, transaction

from customers.bulk import replace_rows
from customers.models import Customer

from .expressions import roomy_cursor
from .forecast import _moves, _number, _spread_sql, grouped, held_invoices, rated
from .lateness import _chunks, bins_of
from .ledger import LedgerScope
from .models import ForecastSpread

# The facts (customers.signals) that can move a customer's spread: what is open and when (invoices, new
# ones, payments), its distribution (payments), and what is forecast on its own (agreements, complaints).
SPREAD_FACTS = {"invoices", "new_invoices", "payments", "agreements", "complaints"}
ZERO = Decimal("0")
OPEN_WEEK = 0
# Above this many customers in one write (an import, not a person's or an ERP's everyday batch of about
# 20), the spreads are re-kept by a worker after it commits: a refresh costs ~1.5 ms per customer plus
# the spreading of its open invoices, which an import of a million invoices multiplies.
BULK_CUSTOMERS = 100


def _computed(customer_ids: list[int], *, as_of: date) -> list[ForecastSpread]:
    """These customers' rows as of `as_of`: one statement."""
    scope = LedgerScope(customers=Customer.objects.filter(pk__in=customer_ids))
    _, covered_ids, disputed_ids = held_invoices(as_of, customer_ids)
    sql, params = _spread_sql(
        groups=grouped(_moves(as_of, scope, held=[covered_ids, disputed_ids])),
        bins=rated(bins_of(as_of, scope)),
        customer_ids=[],
        by_customer=True,
    )
    rows: dict[tuple[int, str, int], ForecastSpread] = {}

    def row(customer: int, currency: str, week: int) -> ForecastSpread:
        key = (customer, currency, week)
        if key not in rows:
            rows[key] = ForecastSpread(
                customer_id=customer, currency=currency, week=week, expected=ZERO, variance=ZERO,
                naive=ZERO, as_of=as_of,
            )  # fmt: skip
        return rows[key]

    alias = router.db_for_read(ForecastSpread)
    with roomy_cursor(alias) as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    # Spread by their segment in the forecast's scope: these keep their naive and open money only.
    live = {
        (customer, currency) for kind, currency, level, customer, *_ in found if kind == "level" and level > 1
    }
    for kind, currency, week, customer, first, second, _ in found:
        if kind == "invoices" and (customer, currency) not in live:
            spread = row(customer, currency, week)
            spread.expected, spread.variance = _number(first), _number(second)
        elif kind == "naive":
            row(customer, currency, week).naive = _number(first)
        elif kind == "open":
            row(customer, currency, OPEN_WEEK).naive = _number(first)
    for (customer, currency, _), spread in rows.items():
        if (customer, currency) in live:
            spread.expected = spread.variance = None
    return list(rows.values())


def keep_spreads(customer_ids: Iterable[int], *, as_of: date) -> None:
    """The writer's refresh (reports/receivers.py). A write of a few customers re-keeps them now; a bulk
    one (an import of invoices or payments for hundreds of customers) would spend seconds in the
    writer's transaction, so it marks the kept spreads stale instead (one row set a day back: the
    forecast reads them only when all are of its day, so it spreads live meanwhile, never wrong) and has
    a worker re-keep the customers once the write has committed."""
    ids = sorted(set(customer_ids))
    if len(ids) <= BULK_CUSTOMERS:
        refresh_spreads(ids, as_of=as_of)
        return
    first = ForecastSpread.objects.order_by("pk").values_list("pk", flat=True)[:1]
    ForecastSpread.objects.filter(pk__in=list(first)).update(as_of=as_of - timedelta(days=1))

    def queue() -> None:
        from .tasks import rebuild_spreads

        rebuild_spreads.delay(customer_ids=ids, today=as_of.isoformat())

    transaction.on_commit(queue)


def refresh_stale_spreads(customer_ids: Iterable[int], *, as_of: date) -> int:
    """Re-keep these customers and any whose rows are not of `as_of` (the bulk write's mark)."""
    stale = ForecastSpread.objects.exclude(as_of=as_of).values_list("customer_id", flat=True)
    return refresh_spreads(set(customer_ids) | set(stale), as_of=as_of)


def refresh_spreads(customer_ids: Iterable[int] | None = None, *, as_of: date) -> int:
    """Rewrite the spreads of these customers (None: everyone) as of `as_of`; returns the rows kept.
    A few statements per chunk of customers, in one transaction."""
    if customer_ids is None:
        customer_ids = Customer.objects.values_list("pk", flat=True)
    count = 0
    with transaction.atomic(savepoint=False):
        for chunk in _chunks(customer_ids):
            rows = _computed(chunk, as_of=as_of)
            fields = ("customer", "currency", "week")
            replace_rows(ForecastSpread, rows, customer_ids=chunk, unique_fields=fields)
            count += len(rows)
    return count


def _values(row: ForecastSpread) -> tuple:
    return (row.expected, row.variance, row.naive)


def spread_drift(*, as_of: date) -> list[int]:
    """Customers whose kept spreads differ from a recomputation as of `as_of` (or are of another day)."""
    wrong = set(ForecastSpread.objects.exclude(as_of=as_of).values_list("customer_id", flat=True))
    for chunk in _chunks(Customer.objects.values_list("pk", flat=True)):
        kept = {
            (row.customer_id, row.currency, row.week): _values(row)
            for row in ForecastSpread.objects.filter(customer_id__in=chunk)
        }
        computed = {
            (row.customer_id, row.currency, row.week): _values(row) for row in _computed(chunk, as_of=as_of)
        }
        wrong |= {key[0] for key in set(kept) ^ set(computed)}
        wrong |= {key[0] for key in set(kept) & set(computed) if kept[key] != computed[key]}
    return sorted(wrong)
