"""The finance figures of the ledger (DESIGN.md section 5), for any past day, aggregated in SQL.

Everything is per currency, and optionally per segment or per collector. A day `d` is rebuilt from
dates alone: an invoice counts from its issue date, its age from its due date, and a payment from the
day it was received. Cancelled and written-off invoices never count as receivables (their status has
no date, so they are left out of past days too).

Receivables split exactly: the open amount of the invoices in any group on day `d` is the invoiced
amount of that group less the allocations to it from payments received by `d`. So two flat scans
(invoices, allocations) with conditional sums give every bucket for many days at once.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Case, F, Q, QuerySet, Sum, When
from django.db.models.functions import TruncMonth
from django.utils import timezone

from customers.models import Customer
from invoices.choices import CLOSED_STATUSES
from invoices.models import Allocation, Invoice
from invoices.selectors import MONEY, ZERO

from .expressions import cents

# (key, label, fewest days past due, most days past due) on the as-of day.
AGING_BUCKETS = (
    ("current", "Not yet due", None, 0),
    ("days_1_30", "1-30 days", 1, 30),
    ("days_31_60", "31-60 days", 31, 60),
    ("days_61_90", "61-90 days", 61, 90),
    ("over_90", "Over 90 days", 91, None),
)
BUCKET_KEYS = tuple(key for key, *_ in AGING_BUCKETS)
COUNTBACK_MONTHS = 24
# The days a report can be asked for: wide enough for any ledger, narrow enough that walking back
# four years of months (trend, countback) stays within the calendar.
EARLIEST_AS_OF = date(2000, 1, 1)
LATEST_AS_OF = date(2099, 12, 31)
DEFAULT_PERIOD_MONTHS = 3
CENT = Decimal("0.01")
TENTH = Decimal("0.1")

DEFINITIONS = {
    "receivables": "Open amount of invoices issued by the as-of day, less payments received by then.",
    "aging": "Open amounts by days past due on the as-of day: not yet due, 1-30, 31-60, 61-90, over 90.",
    "overdue_share": "Receivables past their due date / all receivables x 100.",
    "credit_sales": "Invoices issued in the period (the as-of month to date and the months before it).",
    "dso": "DSO (standard) = receivables at period end / credit sales in the period x days in the period.",
    "countback_dso": (
        "DSO (countback): walk back month by month from the as-of day, consuming each month's credit sales "
        "until the receivables are used up; the days consumed (whole months plus the fraction of the last)."
    ),
    "best_dso": "Best possible DSO = current (not yet due) receivables / credit sales x days in the period.",
    "add": "ADD (average days delinquent) = DSO - best possible DSO.",
    "cei": (
        "CEI = (opening receivables + credit sales - closing receivables) / (opening receivables + credit "
        "sales - closing current receivables) x 100."
    ),
}


@dataclass(frozen=True)
class LedgerScope:
    """Which part of the ledger a figure covers; `customers` is e.g. a portfolio (None: all)."""

    currency: str | None = None
    segment_id: int | None = None
    collector_id: int | None = None
    customers: QuerySet[Customer] | None = None
    group_by: str | None = None  # None, "segment", "collector" or "segment_and_collector"

    def group_fields(self, prefix: str = "") -> list[str]:
        segment, collector = f"{prefix}customer__segment_id", f"{prefix}customer__collector_id"
        return {
            "segment": [segment],
            "collector": [collector],
            "segment_and_collector": [segment, collector],
        }.get(self.group_by or "", [])

    def group_key(self, row: dict, prefix: str = ""):
        """The group of a result row: None, one id, or (segment id, collector id)."""
        values = tuple(row[name] for name in self.group_fields(prefix))
        return None if not values else values[0] if len(values) == 1 else values

    def filter(self, queryset: QuerySet, prefix: str = "") -> QuerySet:
        """Receivable invoices in scope; `prefix` leads to the invoice ("invoice__" from allocations)."""
        queryset = queryset.exclude(**{f"{prefix}status__in": CLOSED_STATUSES})
        if self.currency:
            queryset = queryset.filter(**{f"{prefix}currency": self.currency})
        if self.segment_id:
            queryset = queryset.filter(**{f"{prefix}customer__segment_id": self.segment_id})
        if self.collector_id:
            queryset = queryset.filter(**{f"{prefix}customer__collector_id": self.collector_id})
        if self.customers is not None:
            queryset = queryset.filter(**{f"{prefix}customer__in": self.customers.values("pk")})
        return queryset


@dataclass
class LedgerFigures:
    """The figures of one currency (and group) on one day, with the period they look back over."""

    currency: str
    group_id: int | None
    as_of: date
    period_start: date
    period_days: int
    aging: dict[str, Decimal]  # every bucket on the as-of day; earlier trend points: current and overdue
    opening_receivables: Decimal
    credit_sales: Decimal
    countback_dso: Decimal | None
    countback_capped: bool = False
    group_label: str = ""
    monthly_sales: list[tuple[date, Decimal]] = field(default_factory=list, repr=False)

    @property
    def receivables(self) -> Decimal:
        return sum(self.aging.values(), Decimal("0.00"))

    @property
    def current_receivables(self) -> Decimal:
        return self.aging["current"]

    @property
    def overdue(self) -> Decimal:
        return self.receivables - self.current_receivables

    @property
    def overdue_share(self) -> Decimal | None:
        return _ratio(self.overdue * 100, self.receivables)

    @property
    def dso(self) -> Decimal | None:
        return _ratio(self.receivables * self.period_days, self.credit_sales)

    @property
    def best_dso(self) -> Decimal | None:
        return _ratio(self.current_receivables * self.period_days, self.credit_sales)

    @property
    def add(self) -> Decimal | None:
        if self.dso is None or self.best_dso is None:
            return None
        return self.dso - self.best_dso

    @property
    def cei(self) -> Decimal | None:
        collectable = self.opening_receivables + self.credit_sales
        return _ratio(
            (collectable - self.receivables) * 100,
            collectable - self.current_receivables,
        )

    def as_dict(self) -> dict:
        return {
            "currency": self.currency,
            "group_id": self.group_id,
            "group": self.group_label,
            "as_of": self.as_of,
            "period_start": self.period_start,
            "period_days": self.period_days,
            "receivables": self.receivables,
            "aging": dict(self.aging),
            "overdue": self.overdue,
            "overdue_share": self.overdue_share,
            "opening_receivables": self.opening_receivables,
            "credit_sales": self.credit_sales,
            "dso": self.dso,
            "countback_dso": self.countback_dso,
            "countback_capped": self.countback_capped,
            "best_dso": self.best_dso,
            "add": self.add,
            "cei": self.cei,
        }


def ledger_figures(
    as_of: date,
    *,
    scope: LedgerScope | None = None,
    period_months: int = DEFAULT_PERIOD_MONTHS,
    live: bool = False,
) -> list[LedgerFigures]:
    """Aging, DSO (standard, countback, best possible), ADD, CEI and overdue share on `as_of`.

    One list entry per currency (and group); three queries whatever the size of the ledger.
    """
    return ledger_trend(as_of, scope=scope, period_months=period_months, points=1, live=live)[as_of]


def ledger_trend(
    as_of: date,
    *,
    scope: LedgerScope | None = None,
    period_months: int = DEFAULT_PERIOD_MONTHS,
    points: int = 12,
    live: bool = False,
) -> dict[date, list[LedgerFigures]]:
    """The figures at the end of each of the last `points` months, the last point being `as_of` itself.

    Three queries in all: invoice and allocation totals for every day needed, and monthly credit sales.
    """
    scope = scope or LedgerScope()
    positions, sales = _read_ledger(as_of, scope, period_months, points, live=live)
    return _build_trend(trend_days(as_of, points), positions, sales, period_months)


def ledger_breakdown(
    as_of: date,
    *,
    scope: LedgerScope | None = None,
    period_months: int = DEFAULT_PERIOD_MONTHS,
    points: int = 12,
    live: bool = False,
) -> tuple[dict[date, list[LedgerFigures]], list[LedgerFigures], list[LedgerFigures]]:
    """The trend of the scope, and its figures on `as_of` per segment and per collector, in three queries.

    The ledger is read once grouped by (currency, segment, collector); since every amount is a sum, the
    whole ledger, the segments and the collectors are added up from those groups.
    """
    scope = replace(scope or LedgerScope(), group_by="segment_and_collector")
    positions, sales = _read_ledger(as_of, scope, period_months, points, live=live)
    days = trend_days(as_of, points)
    trend = _build_trend(days, *_roll_up(positions, sales, lambda group: None), period_months)
    by_segment = _build_trend([as_of], *_roll_up(positions, sales, lambda group: group[0]), period_months)
    by_collector = _build_trend([as_of], *_roll_up(positions, sales, lambda group: group[1]), period_months)
    return trend, by_segment[as_of], by_collector[as_of]


def _read_ledger(as_of: date, scope: LedgerScope, period_months: int, points: int, *, live: bool = False):
    """Positions on every day the figures need, and monthly credit sales: from the daily snapshots
    where they are complete (reports/snapshots.py), else rebuilt live; `live` forces the rebuild."""
    from . import snapshots  # snapshots are filled from the functions of this module

    days = trend_days(as_of, points)
    openings = {period_start(day, period_months) - timedelta(days=1) for day in days}
    all_days = sorted(set(days) | openings)
    months = COUNTBACK_MONTHS + points + period_months
    if not live:
        read = snapshots.read_ledger(
            all_days, scope=scope, aged_days={as_of}, as_of=as_of, months=months, today=timezone.localdate()
        )
        if read is not None:
            return read
    positions = receivable_positions(all_days, scope=scope, aged_days={as_of})
    sales = monthly_credit_sales(as_of, scope=scope, months=months)
    return positions, sales


def _roll_up(positions, sales, regroup):
    """Positions and sales added up by (currency, regroup(group))."""
    rolled_positions: dict[tuple, dict[date, dict[str, Decimal]]] = defaultdict(dict)
    for (currency, group), by_day in positions.items():
        target = rolled_positions[(currency, regroup(group))]
        for day, buckets in by_day.items():
            into = target.setdefault(day, {})
            for bucket, amount in buckets.items():
                into[bucket] = into.get(bucket, Decimal("0.00")) + amount
    rolled_sales: dict[tuple, dict[date, Decimal]] = defaultdict(dict)
    for (currency, group), by_month in sales.items():
        target = rolled_sales[(currency, regroup(group))]
        for month, amount in by_month.items():
            target[month] = target.get(month, Decimal("0.00")) + amount
    return dict(rolled_positions), dict(rolled_sales)


def _build_trend(days, positions, sales, period_months) -> dict[date, list[LedgerFigures]]:
    keys = sorted(set(positions) | set(sales), key=lambda key: (key[0], key[1] is not None, key[1] or 0))
    trend: dict[date, list[LedgerFigures]] = {}
    for day in days:
        start = period_start(day, period_months)
        opening_day = start - timedelta(days=1)
        trend[day] = [
            _figures_for(key, day, start, positions.get(key, {}), sales.get(key, {}), opening_day)
            for key in keys
        ]
    return trend


def _figures_for(key, day, start, positions, sales, opening_day) -> LedgerFigures:
    currency, group_id = key
    aging = positions.get(day) or dict.fromkeys(BUCKET_KEYS, Decimal("0.00"))
    opening = sum((positions.get(opening_day) or {}).values(), Decimal("0.00"))
    months = months_back(day, COUNTBACK_MONTHS)
    monthly = [(month_start, sales.get(month_start, Decimal("0.00"))) for month_start, _ in months]
    credit_sales = sum(
        (amount for month_start, amount in monthly if month_start >= start.replace(day=1)), Decimal("0.00")
    )
    receivables = sum(aging.values(), Decimal("0.00"))
    countback, capped = countback_dso(
        receivables, [(days, amount) for (_, days), (_, amount) in zip(months, monthly, strict=True)]
    )
    return LedgerFigures(
        currency=currency,
        group_id=group_id,
        as_of=day,
        period_start=start,
        period_days=(day - start).days + 1,
        aging=aging,
        opening_receivables=opening,
        credit_sales=credit_sales,
        countback_dso=countback,
        countback_capped=capped,
        monthly_sales=monthly,
    )


def receivable_positions(
    days: list[date], *, scope: LedgerScope, aged_days: set[date] | None = None
) -> dict[tuple, dict[date, dict[str, Decimal]]]:
    """Open amounts on each day, keyed by (currency, group id) then day. Two queries.

    Days in `aged_days` (default: all) are split into every aging bucket; the others only into
    "current" (not yet due) and "overdue", which is all a trend point needs, and much cheaper.
    """
    aged_days = set(days) if aged_days is None else aged_days
    invoiced = _bucket_sums(
        scope.filter(Invoice.objects.all()), days, aged_days, scope, prefix="", paid_by=None
    )
    paid = _bucket_sums(
        scope.filter(Allocation.objects.all(), prefix="invoice__"),
        days,
        aged_days,
        scope,
        prefix="invoice__",
        paid_by=True,
    )
    positions: dict[tuple, dict[date, dict[str, Decimal]]] = defaultdict(dict)
    for key, columns in invoiced.items():
        less = paid.get(key, {})
        for index, day in enumerate(days):
            buckets = BUCKET_KEYS if day in aged_days else ("current", "overdue")
            positions[key][day] = {
                bucket: columns[f"d{index}_{bucket}"] - less.get(f"d{index}_{bucket}", Decimal("0.00"))
                for bucket in buckets
            }
    return dict(positions)


def _bucket_sums(queryset, days, aged_days, scope, *, prefix, paid_by) -> dict[tuple, dict[str, Decimal]]:
    columns = {}
    for index, day in enumerate(days):
        counted = Q(**{f"{prefix}issue_date__lte": day})
        if paid_by:
            counted &= Q(payment__received_on__lte=day)
        if day in aged_days:
            conditions = _bucket_conditions(day, prefix)
        else:
            due = f"{prefix}due_date"
            conditions = {"current": Q(**{f"{due}__gte": day}), "overdue": Q(**{f"{due}__lt": day})}
        for bucket, condition in conditions.items():
            columns[f"d{index}_{bucket}"] = Sum(
                Case(When(counted & condition, then=F("amount")), default=ZERO, output_field=MONEY)
            )
    key_fields = [f"{prefix}currency", *scope.group_fields(prefix)]
    earliest_issue = Q(**{f"{prefix}issue_date__lte": max(days)})
    rows = queryset.filter(earliest_issue).order_by().values(*key_fields).annotate(**columns)
    result = {}
    for row in rows:
        key = (row[f"{prefix}currency"], scope.group_key(row, prefix))
        result[key] = {name: cents(row[name]) for name in columns}
    return result


def _bucket_conditions(day: date, prefix: str) -> dict[str, Q]:
    due = f"{prefix}due_date"
    conditions = {}
    for key, _, fewest, most in AGING_BUCKETS:
        condition = Q()
        if fewest is not None:  # at least `fewest` days past due: due on or before day - fewest
            condition &= Q(**{f"{due}__lte": day - timedelta(days=fewest)})
        if most is not None:
            condition &= Q(**{f"{due}__gte": day - timedelta(days=most)})
        conditions[key] = condition
    return conditions


def monthly_credit_sales(as_of: date, *, scope: LedgerScope, months: int) -> dict[tuple, dict[date, Decimal]]:
    """Credit sales per calendar month (keyed by its first day) up to `as_of`, by (currency, group)."""
    first = add_months(as_of.replace(day=1), -(months - 1))
    key_fields = ["currency", *scope.group_fields()]
    rows = (
        scope.filter(Invoice.objects.filter(issue_date__gte=first, issue_date__lte=as_of))
        .order_by()
        .annotate(month=TruncMonth("issue_date"))
        .values(*key_fields, "month")
        .annotate(total=Sum("amount"))
    )
    sales: dict[tuple, dict[date, Decimal]] = defaultdict(dict)
    for row in rows:
        month = row["month"].date() if hasattr(row["month"], "date") else row["month"]
        sales[(row["currency"], scope.group_key(row))][month] = cents(row["total"])
    return dict(sales)


def countback_dso(receivables: Decimal, months: list[tuple[int, Decimal]]) -> tuple[Decimal | None, bool]:
    """Days of sales the receivables stand for, walking back (days in month, credit sales) newest first.

    Returns (days, capped): capped when the months ran out before the receivables did.
    """
    if receivables <= 0:
        return Decimal("0.0"), False
    left, days = receivables, Decimal("0")
    for days_in_month, sales in months:
        if sales >= left:
            return _round(days + Decimal(days_in_month) * left / sales), False
        left -= sales
        days += days_in_month
    return _round(days), True


def trend_days(as_of: date, points: int) -> list[date]:
    """Month ends of the `points - 1` months before `as_of`, then `as_of`, oldest first."""
    days = [as_of]
    month_start = as_of.replace(day=1)
    for _ in range(points - 1):
        month_start = add_months(month_start, -1)
        days.append(month_end(month_start))
    return sorted(days)


def months_back(day: date, count: int) -> list[tuple[date, int]]:
    """(first day, days counted) of the month of `day` (up to `day`) and the `count - 1` months before."""
    months = [(day.replace(day=1), day.day)]
    month_start = day.replace(day=1)
    for _ in range(count - 1):
        month_start = add_months(month_start, -1)
        months.append((month_start, calendar.monthrange(month_start.year, month_start.month)[1]))
    return months


def period_start(day: date, period_months: int) -> date:
    """First day of the period: the month of `day` and the `period_months - 1` before it."""
    return add_months(day.replace(day=1), -(period_months - 1))


def add_months(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(first_of_month: date) -> date:
    return first_of_month.replace(day=calendar.monthrange(first_of_month.year, first_of_month.month)[1])


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    if not denominator:
        return None
    return _round(Decimal(numerator) / Decimal(denominator))


def _round(value: Decimal) -> Decimal:
    return Decimal(value).quantize(TENTH, rounding=ROUND_HALF_UP)
