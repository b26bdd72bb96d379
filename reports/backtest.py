"""The forecast tested against what happened: made as of each of the last 26 week-ends, compared with
the payments received in the weeks that followed, next to the naive "everyone pays on the due date".

Imported through `reports.selectors`. The error is the WAPE (sum of absolute errors / sum of actual
receipts) per currency, per week-end (over the weeks of its horizon that are over by the as-of day) and
overall (pooled over every week-end and week). Actual receipts are every payment by received date,
also those paying invoices issued after the week-end (which no forecast made then could see).

Kept: each week-end's finished forecast (its 13 weeks expected and naive, per currency) in
`KeptForecast`, per set of filters. A forecast as of a past day moves only when history up to that day
is corrected, which every such write announces with its `earliest_day` (customers.signals), the same
day the ledger snapshots are invalidated from (reports/snapshots.py): the receiver deletes the kept
forecasts from that day on (`invalidate`). So the nightly run computes the new week-end only (a
portfolio scope, which cuts across customers, is never kept). A customer moved to another segment
(or, for a collector's forecast, collector) announces no day, so the rows are kept per digest of the
grouping too (`grouping`). A kept forecast is exactly the one computed: the same Decimals, written
as text. (One race is left: a back-dated write committed while a backtest computes a later day's
forecast, which it then keeps.)
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Sum

from customers.models import Customer
from invoices.models import Invoice, Payment

from .expressions import cents
from .forecast import WEEKS, CurrencyForecast, forecast, week_of
from .ledger import LedgerScope
from .models import KeptForecast
from .week_end_sources import PARTS, WeekEndSources

ORIGINS = 26
# Gathering what a run of week-ends reads takes about as long as reading two of them from the ledger.
GATHER_FROM_DAYS = 3
# The facts (customers.signals) that can move a past day's forecast: what it reads of invoices, payments,
# agreements and complaints. Their `earliest_day` is the first day moved; without one, every day.
FORECAST_FACTS = {"invoices", "new_invoices", "payments", "agreements", "complaints"}
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
    *, as_of: date, scope: LedgerScope | None = None, origins: int = ORIGINS, keep: bool = True
) -> list[CurrencyBacktest]:
    """The forecast as of each of the last `origins` week-ends against the receipts that followed.

    One query for the receipts, one for the kept forecasts, and a forecast (about ten queries) for each
    week-end not kept, which is then kept (`keep=False`: compute every one, keep none)."""
    scope = scope or LedgerScope()
    days = week_ends(as_of, origins)
    receipts = receipts_by_day(days[0], as_of, scope)
    key = scope_key(scope) if keep else None
    made_by_day = kept_forecasts(days, key)
    made_now = make_forecasts([origin for origin in days if origin not in made_by_day], scope)
    for origin, made in made_now.items():
        if key is not None:
            _keep(origin, key, made)
    made_by_day.update(made_now)
    results: dict[str, CurrencyBacktest] = {}
    for origin in days:
        compared = min(WEEKS, (as_of - origin).days // 7)
        made = made_by_day[origin]
        for currency in sorted(set(made) | set(receipts)):
            expected, naive = made.get(currency, ([ZERO] * compared, [ZERO] * compared))
            results.setdefault(currency, CurrencyBacktest(currency)).origins.append(
                Origin(
                    as_of=origin,
                    forecast=expected[:compared],
                    naive=naive[:compared],
                    actual=actual_weeks(receipts.get(currency, {}), origin, compared),
                )
            )
    return [results[currency] for currency in sorted(results)]


def make_forecasts(days: list[date], scope: LedgerScope) -> dict[date, Weeks]:
    """The forecasts as of these days (week-ends, whole weeks apart). What they read of the ledger is
    gathered once (reports/week_end_sources.py; for GATHER_FROM_DAYS days or more), then each is
    spread from it, on PostgreSQL by numpy in this process: so a cold backtest works on
    REPORTS_BACKTEST_CONNECTIONS connections of their own side by side (threads: the GIL is released
    while PostgreSQL and numpy work), which first gather a part each (`_made_sharing`), then
    make a share of the days each. Not inside a transaction (other connections could not see its
    writes) nor on SQLite: one after the other on this connection. The interval is not computed: the
    backtest compares the expected weeks only."""
    if not days:
        return {}
    workers = min(len(days), settings.REPORTS_BACKTEST_CONNECTIONS)
    alias = router.db_for_write(Invoice)  # where the sources' temporary tables are (the primary)
    if workers < 2 or connections[alias].vendor != "postgresql" or connections[alias].in_atomic_block:
        return _made_in_one_run(days, scope)
    if len(days) < GATHER_FROM_DAYS:
        shares = [days[index::workers] for index in range(workers)]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="backtest") as pool:
            found = pool.map(lambda share: _made_on_own_connection(_made_in_one_run, share, scope), shares)
            made = {day: weeks for part in found for day, weeks in part.items()}
        return {day: made[day] for day in days}
    sources = WeekEndSources.of_days(days, scope)
    size = -(-len(days) // workers)
    starts = range(0, len(days), size)
    gathered = threading.Barrier(len(starts))
    shares = [(days[start : start + size], PARTS[index :: len(starts)]) for index, start in enumerate(starts)]
    with ThreadPoolExecutor(max_workers=len(shares), thread_name_prefix="backtest") as pool:
        found = pool.map(
            lambda share: _made_on_own_connection(_made_sharing, share, sources, gathered), shares
        )
        made = {day: weeks for part in found for day, weeks in part.items()}
    return {day: made[day] for day in days}


def _made_in_one_run(days: list[date], scope: LedgerScope) -> dict[date, Weeks]:
    """These days' forecasts on this connection: from what is gathered once for them, unless they are
    too few to repay the gathering (a night's newest week-end alone is quicker read from the ledger)."""
    if len(days) < GATHER_FROM_DAYS:
        return {day: _weeks_of(forecast(as_of=day, scope=scope, with_interval=False)) for day in days}
    alias = router.db_for_write(Invoice)
    with transaction.atomic(using=alias):  # a failure rolls the temporary tables back with it
        sources = WeekEndSources.gathered(days, scope)
        made = {day: _weeks_of(_made(day, sources)) for day in days}
        sources.drop()
    return made


def _made_sharing(share, sources: WeekEndSources, gathered: threading.Barrier) -> dict[date, Weeks]:
    """One connection's share of a backtest made side by side on PostgreSQL: its parts of the
    gathering (into arrays every thread reads), then, once every part is gathered, its days."""
    days, parts = share
    try:
        with transaction.atomic(using=router.db_for_write(Invoice)):  # the temporary tables go with it
            sources.drop()
            for part in parts:
                sources.gather(part)
            sources.drop()
        gathered.wait()
    except BaseException:
        gathered.abort()  # the other connections stop waiting for this one's part
        raise
    return {day: _weeks_of(_made(day, sources)) for day in days}


def _made(day: date, sources: WeekEndSources) -> list[CurrencyForecast]:
    return forecast(as_of=day, scope=sources.scope, sources=sources, with_interval=False)


def _made_on_own_connection(make, *arguments) -> dict[date, Weeks]:
    try:
        return make(*arguments)
    finally:
        connections.close_all()  # this thread's connections only


# --- Kept forecasts (KeptForecast) ---------------------------------------------------------------------

Weeks = dict[str, tuple[list[Decimal], list[Decimal]]]  # currency: (expected, naive) per week


def _weeks_of(made: list[CurrencyForecast]) -> Weeks:
    return {f.currency: ([w.expected for w in f.weeks], [w.naive for w in f.weeks]) for f in made}


def grouping(*, collectors: bool) -> str:
    """A digest of every customer's segment (and collector): a forecast reads them as they are now (the
    segment's distribution, a collector's scope), and moving a customer announces nothing a past day
    could be invalidated from, so a kept forecast is of one grouping. Collectors count only for a
    collector's scope: reassigning portfolios, the common move, keeps every other forecast. One query
    (~20k short rows)."""
    digest = hashlib.blake2b(digest_size=12)
    fields = ("pk", "segment_id", "collector_id") if collectors else ("pk", "segment_id")
    rows = Customer.objects.order_by("pk").values_list(*fields)
    for row in rows.iterator(chunk_size=10000):
        digest.update(repr(row).encode())
    return digest.hexdigest()


def scope_key(scope: LedgerScope) -> str | None:
    """The filters and grouping a kept forecast is of; None for a portfolio (not kept)."""
    if scope.customers is not None:
        return None
    filters = f"currency={scope.currency}|segment_id={scope.segment_id}|collector_id={scope.collector_id}"
    return f"{filters}|grouping={grouping(collectors=scope.collector_id is not None)}"


def kept_forecasts(days: list[date], key: str | None) -> dict[date, Weeks]:
    """The kept forecasts of these days for the scope_key, by day: one query."""
    if key is None:
        return {}
    return {
        row.as_of: {
            currency: ([Decimal(v) for v in weeks["expected"]], [Decimal(v) for v in weeks["naive"]])
            for currency, weeks in row.weeks.items()
        }
        for row in KeptForecast.objects.filter(scope=key, as_of__in=days)
    }


def _keep(as_of: date, key: str, made: Weeks) -> None:
    weeks = {
        currency: {"expected": [str(v) for v in expected], "naive": [str(v) for v in naive]}
        for currency, (expected, naive) in made.items()
    }
    KeptForecast.objects.update_or_create(as_of=as_of, scope=key, defaults={"weeks": weeks})


def invalidate(*, since: date | None) -> None:
    """Forget the kept forecasts a change dated `since` can have moved (None: all of them). Called in
    the writer's transaction (reports/receivers.py)."""
    rows = KeptForecast.objects.all()
    if since is not None:
        rows = rows.filter(as_of__gte=since)
    rows.delete()
