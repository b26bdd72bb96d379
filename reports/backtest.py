"""The forecast tested against what happened: made as of each of the last 26 week-ends, compared with
the payments received in the weeks that followed, next to the naive "everyone pays on the due date".

Imported through `reports.selectors`. The error is the WAPE (sum of absolute errors / sum of actual
receipts) per currency, per week-end (over the weeks of its horizon that are over by the as-of day) and
overall (pooled over every week-end and week). Actual receipts are every payment by received date,
also those paying invoices issued after the week-end (which no forecast made then could see).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Sum

from invoices.models import Payment

from .expressions import cents
from .forecast import WEEKS, CurrencyForecast, forecast, week_of
from .ledger import LedgerScope

ORIGINS = 26
SUNDAY = 6
ZERO = Decimal("0")
HUNDRED = Decimal("100")


@dataclass
class Origin:
    """One forecast made as of a week-end, next to the actual receipts of its weeks that are over."""

    as_of: date
    forecast: list[Decimal]
    naive: list[Decimal]
    actual: list[Decimal]

    @property
    def received(self) -> Decimal:
        return sum(self.actual, ZERO)

    @property
    def wape(self) -> Decimal | None:
        return wape(self.forecast, self.actual)

    @property
    def naive_wape(self) -> Decimal | None:
        return wape(self.naive, self.actual)


@dataclass
class CurrencyBacktest:
    currency: str
    origins: list[Origin] = field(default_factory=list)

    @property
    def wape(self) -> Decimal | None:
        return wape(
            [f for o in self.origins for f in o.forecast], [a for o in self.origins for a in o.actual]
        )

    @property
    def naive_wape(self) -> Decimal | None:
        return wape([f for o in self.origins for f in o.naive], [a for o in self.origins for a in o.actual])


def wape(predicted: list[Decimal], actual: list[Decimal]) -> Decimal | None:
    """Sum of |predicted - actual| / sum of actual x 100, to a tenth (None without receipts)."""
    receipts = sum(actual, ZERO)
    if not receipts:
        return None
    errors = sum((abs(p - a) for p, a in zip(predicted, actual, strict=True)), ZERO)
    return (errors / receipts * HUNDRED).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def week_ends(as_of: date, count: int = ORIGINS) -> list[date]:
    """The last `count` Sundays with at least one whole week after them by `as_of`, oldest first."""
    latest = as_of - timedelta(days=7)
    latest -= timedelta(days=(latest.weekday() - SUNDAY) % 7)
    return [latest - timedelta(weeks=back) for back in range(count - 1, -1, -1)]


def receipts_by_day(start: date, end: date, scope: LedgerScope) -> dict[str, dict[date, Decimal]]:
    """Payments received in (start, end] per currency and day, in the scope: one GROUP BY query."""
    payments = Payment.objects.filter(received_on__gt=start, received_on__lte=end)
    if scope.currency:
        payments = payments.filter(currency=scope.currency)
    if scope.segment_id:
        payments = payments.filter(customer__segment_id=scope.segment_id)
    if scope.collector_id:
        payments = payments.filter(customer__collector_id=scope.collector_id)
    found = defaultdict(dict)
    rows = payments.values("currency", "received_on").annotate(total=Sum("amount")).order_by()
    for row in rows:
        found[row["currency"]][row["received_on"]] = cents(row["total"])
    return found


def actual_weeks(receipts: dict[date, Decimal], origin: date, weeks: int) -> list[Decimal]:
    """Receipts of the first `weeks` weeks after `origin` (week 1: the seven days after it)."""
    totals = [ZERO] * weeks
    for day, amount in receipts.items():
        days_after = (day - origin).days
        if 1 <= days_after <= weeks * 7:
            totals[week_of(days_after) - 1] += amount
    return totals


def backtest(
    *, as_of: date, scope: LedgerScope | None = None, origins: int = ORIGINS
) -> list[CurrencyBacktest]:
    """The forecast as of each of the last `origins` week-ends against the receipts that followed.

    One forecast per week-end (about ten queries each) and one query for the receipts."""
    scope = scope or LedgerScope()
    days = week_ends(as_of, origins)
    receipts = receipts_by_day(days[0], as_of, scope)
    results: dict[str, CurrencyBacktest] = {}
    for origin in days:
        compared = min(WEEKS, (as_of - origin).days // 7)
        made: dict[str, CurrencyForecast] = {f.currency: f for f in forecast(as_of=origin, scope=scope)}
        for currency in sorted(set(made) | set(receipts)):
            weeks = made[currency].weeks[:compared] if currency in made else []
            results.setdefault(currency, CurrencyBacktest(currency)).origins.append(
                Origin(
                    as_of=origin,
                    forecast=[w.expected for w in weeks] or [ZERO] * compared,
                    naive=[w.naive for w in weeks] or [ZERO] * compared,
                    actual=actual_weeks(receipts.get(currency, {}), origin, compared),
                )
            )
    return [results[currency] for currency in sorted(results)]
