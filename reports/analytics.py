"""Effort against value, and what customers say: excuses, complaints used to delay, payment behaviour.

All per currency where money is involved; counts of words and contacts need no currency.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from operator import attrgetter
from typing import NamedTuple

from django.db import connection
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from calls.choices import ComplaintOutcome, ExcuseCategory
from calls.models import Complaint, Excuse, Interaction
from customers.models import Customer
from dunning.models import Reminder
from invoices.models import Payment
from invoices.selectors import MONEY

from . import channels, debt_bands, snapshots
from .expressions import cents, decimal_cents, roomy_cursor
from .models import WorthItScore, WorthItSettings
from .worth_it import WINDOW_DAYS, window_start

FOLLOW_THROUGH_DAYS = channels.FOLLOW_THROUGH_DAYS

HUNDRED = Decimal("100")
TENTH = Decimal("0.1")
DEBT_BANDS = debt_bands.DEBT_BANDS
REMINDER_BEFORE_COMPLAINT_DAYS = 30
COMPLAINT_DELAYS_SHOWN = 20  # the dashboard's latest; the API lists up to a bound it is given
COSTLY_SHOWN = 15  # the dashboard's costliest customers; the API and the export list them all

ANALYTICS_DEFINITIONS = {
    "effort": "Effort = minutes collectors logged on interactions with the customer in the last 12 months.",
    "top_share": "Share of all effort taken by the 10% of customers who took the most.",
    "pareto": "Customers sorted by effort, most first: cumulative share of effort and of revenue paid.",
    "costly": (
        "Cost = minutes / 60 x hourly collection cost; brings = revenue paid in 12 months x margin. "
        "Listed when the cost is higher."
    ),
    "excuse_mix": "Excuses given per category, per month over the last 12 months.",
    "repeated_excuses": "Customers who gave the same excuse category twice or more in 12 months.",
    "complaint_delay": (
        f"Complaints rejected in 12 months that were opened within {REMINDER_BEFORE_COMPLAINT_DAYS} days "
        "after a reminder: the days they held the chase, and the days from rejection to the next payment."
    ),
    "debt_bands": (
        "Customers by open balance 30 days ago (in their currency): share who paid anything since, and the "
        "share of that balance paid."
    ),
    "channels": (
        "Outbound calls, emails and letters (interactions and reminders) in 12 months, and the share "
        f"followed by a payment within {FOLLOW_THROUGH_DAYS} days, per segment."
    ),
}


def _customers_in(
    scope_customers: QuerySet[Customer] | None, segment_id=None, collector_id=None, currency=None
):
    queryset = Customer.objects.all() if scope_customers is None else scope_customers
    if segment_id:
        queryset = queryset.filter(segment_id=segment_id)
    if collector_id:
        queryset = queryset.filter(collector_id=collector_id)
    if currency:
        queryset = queryset.filter(currency=currency)
    return queryset


@dataclass(slots=True)
class EffortRow:
    customer_id: int
    name: str
    account_number: str
    minutes: int
    revenue: Decimal
    cost: Decimal
    brings: Decimal

    @property
    def costs_more_than_it_brings(self) -> bool:
        return self.cost > self.brings


@dataclass
class EffortAgainstValue:
    currency: str
    customers: int
    total_minutes: int
    total_revenue: Decimal
    top_tenth_effort_share: Decimal | None
    pareto: list[tuple[Decimal, Decimal, Decimal]] = field(
        default_factory=list
    )  # customers %, effort %, revenue %
    costly: list[EffortRow] = field(default_factory=list)
    rows: list[EffortRow] = field(default_factory=list, repr=False)  # every customer, most effort first


def effort_against_value(
    *, today: date, customers: QuerySet[Customer] | None = None, **filters
) -> list[EffortAgainstValue]:
    """Per currency: who takes the collectors' time and what they pay.

    The minutes and the revenue paid in the 12 months to `today` are the worth-it score's inputs: when
    every customer in scope has its kept score (`WorthItScore`, reports/scores.py) as of `today` they
    are read from it, with the customers, in one query. When every kept score is of one other day less
    than half a window away (a past day asked for, the scores being today's), the kept inputs are moved
    to `today`: plus what the days the window gains brought, less what the days it loses did, in two
    GROUP BY queries over those days only (a month back: ~2 x 27 days instead of 365). Otherwise (the
    scores of mixed days, e.g. before the nightly rebuild) two GROUP BY queries read the whole window.
    """
    settings = WorthItSettings.current()
    in_scope = _customers_in(customers, **filters).order_by()
    listed = list(
        in_scope.values_list(
            "pk", "name", "account_number", "currency",
            "worth_it__as_of", "worth_it__minutes_spent", "worth_it__revenue_paid",
        )
    )  # fmt: skip
    # The whole ledger: the sums need no semi-join to the customers (~50 ms a query on 50,000).
    summed = None if customers is None and not any(filters.values()) else in_scope
    kept_on = {row[4] for row in listed}
    if kept_on <= {today}:
        minutes = {row[0]: row[5] for row in listed if row[5]}
        revenue = {(row[0], row[3]): row[6] for row in listed if row[6]}
    elif len(kept_on) == 1 and None not in kept_on and abs(today - min(kept_on)).days < WINDOW_DAYS // 2:
        minutes, revenue = _moved_effort_inputs(summed, listed, kept_on=min(kept_on), today=today)
    else:
        minutes, revenue = _effort_sums(summed, after=window_start(today), through=today)
    per_currency: dict[str, list[EffortRow]] = defaultdict(list)
    margin = settings.margin_percent / HUNDRED
    # Tuples and no money arithmetic for the many customers without minutes or revenue, and each
    # number of minutes costed once (customers share them): this loop runs once per customer in scope
    # (50,000 on the largest ledger), so its Decimal work is most of the section's time.
    nothing = Decimal("0.00")
    cost_of = {0: nothing}
    for pk, name, account_number, currency, *_ in listed:
        spent = int(minutes.get(pk) or 0)
        cost = cost_of.get(spent)
        if cost is None:
            cost = cost_of[spent] = _money(Decimal(spent) * settings.hourly_collection_cost / 60)
        paid = revenue.get((pk, currency))
        paid = cents(paid) if paid else nothing
        per_currency[currency].append(
            EffortRow(pk, name, account_number, spent, paid, cost, _money(paid * margin) if paid else nothing)
        )
    return [_effort_summary(currency, per_currency[currency]) for currency in sorted(per_currency)]


def effort_summaries(
    *, today: date, customers: QuerySet[Customer] | None = None, **filters
) -> list[EffortAgainstValue]:
    """What the dashboard shows of `effort_against_value`: per currency the totals, the top tenth's
    share, the Pareto curve and the COSTLY_SHOWN costliest customers, without every customer's row.

    On PostgreSQL, when every customer in scope has its kept score of one day (after the nightly
    rebuild), today or less than half a window from it, ranked and summed in SQL by window functions
    (`_effort_in_sql`). A call logged or a payment received stales the section, and building 50,000
    rows in Python to draw a hundred points cost a web worker 1.2 s of CPU each time; a past day read
    that way took 1.5 s on the largest ledger. Otherwise `effort_against_value`'s."""
    if connection.vendor == "postgresql":
        kept_on = _the_one_kept_day()
        if kept_on is not None and abs(today - kept_on).days < WINDOW_DAYS // 2:
            summaries = _effort_in_sql(_customers_in(customers, **filters), today=today, kept_on=kept_on)
            if summaries is not None:
                return summaries
    summaries = effort_against_value(today=today, customers=customers, **filters)
    for summary in summaries:
        summary.costly, summary.rows = summary.costly[:COSTLY_SHOWN], []
    return summaries


def _the_one_kept_day() -> date | None:
    """The day of every kept worth-it score when they are all of one day (the nightly rebuild's)."""
    days = list(WorthItScore.objects.order_by().values_list("as_of", flat=True).distinct()[:2])
    return days[0] if len(days) == 1 else None


def _effort_in_sql(
    in_scope: QuerySet[Customer], *, today: date, kept_on: date | None = None
) -> list[EffortAgainstValue] | None:
    """`effort_summaries` from the kept scores in one statement, or None when a customer in scope has
    no kept score as of `kept_on` (default `today`). Scores of another day are moved to `today` as
    `_moved_effort_inputs` moves them, by the sums of the days between, joined in. The same figures
    as `_effort_summary`, in its order (most minutes, then most revenue, then name and id; names
    compared by code point, as Python does), with the same rounding: cost and brings to the cent,
    halves away from zero."""
    settings = WorthItSettings.current()
    kept_on = kept_on or today
    scope_sql, scope_params = in_scope.order_by().values("pk").query.sql_with_params()
    # The whole ledger needs no semi-join to the customers.
    scoped = in_scope.query.has_filters()
    where = f"WHERE c.id IN ({scope_sql})" if scoped else ""
    moved = _moved_inputs_sql(in_scope if scoped else None, kept_on=kept_on, today=today)
    listed = f"""
        WITH listed AS (
            SELECT id, name, account_number, currency, minutes, revenue,
                   (revenue * 100)::bigint AS cents, not_kept
            FROM (
                SELECT c.id, c.name, c.account_number, c.currency,
                       COALESCE(w.minutes_spent, 0) + {moved.minutes} AS minutes,
                       COALESCE(w.revenue_paid, 0) + {moved.revenue} AS revenue,
                       w.as_of IS DISTINCT FROM %s AS not_kept
                FROM {Customer._meta.db_table} c
                LEFT JOIN {WorthItScore._meta.db_table} w ON w.customer_id = c.id
                {moved.joins}
                {where}
            ) AS moved
        )
    """  # noqa: S608 (table names and the ORM's own SQL are formatted in; values are parameters)
    params = [*moved.select_params, kept_on, *moved.join_params, *(scope_params if scoped else ())]
    # One statement, so that `listed` (referenced twice, hence materialized) and the sums it joins in
    # are computed once: the curve's points (part 0) and the costliest customers (part 1).
    # The running sums at a place are the same whichever order customers of equal minutes and revenue
    # come in, so the curve sorts by those two only (revenue in whole cents: integers sort and sum
    # faster than numerics).
    query = f"""{listed},
        ranked AS (
            SELECT currency, ROW_NUMBER() OVER run AS place, COUNT(*) OVER mine AS customers,
                   SUM(minutes) OVER run AS minutes_so_far,
                   SUM(cents) OVER run AS cents_so_far,
                   COUNT(*) FILTER (WHERE not_kept) OVER mine AS not_kept
            FROM listed
            WINDOW mine AS (PARTITION BY currency),
                   run AS (mine ORDER BY minutes DESC, cents DESC ROWS UNBOUNDED PRECEDING)
        ),
        priced AS (
            SELECT *, ROUND(minutes * %s / 60, 2) AS cost, ROUND(revenue * %s / 100, 2) AS brings FROM listed
        ),
        costly AS (
            SELECT *, ROW_NUMBER() OVER (
                PARTITION BY currency ORDER BY brings - cost, minutes DESC, revenue DESC, name COLLATE "C", id
            ) AS place
            FROM priced WHERE cost > brings
        )
        SELECT 0 AS part, currency, place, customers, minutes_so_far, cents_so_far, not_kept,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL
        FROM ranked
        WHERE place %% GREATEST(1, customers / 100) = 0 OR place = customers OR place = CEIL(customers / 10.0)
        UNION ALL
        SELECT 1, currency, place, NULL, NULL, NULL, NULL,
               id, name, account_number, minutes, revenue, cost, brings
        FROM costly WHERE place <= %s
        ORDER BY part, currency, place
    """  # noqa: S608
    prices = [settings.hourly_collection_cost, settings.margin_percent, COSTLY_SHOWN]
    with roomy_cursor() as cursor:  # the curve sorts every customer of the scope
        cursor.execute(query, [*params, *prices])
        rows = cursor.fetchall()
    points = [row[1:7] for row in rows if row[0] == 0]
    if any(not_kept for *_, not_kept in points):
        return None
    costly: dict[str, list[EffortRow]] = defaultdict(list)
    for row in rows:
        if row[0] == 1:
            costly[row[1]].append(EffortRow(*row[7:]))
    by_currency: dict[str, list[tuple]] = defaultdict(list)
    for currency, place, customers, minutes_so_far, cents_so_far, _ in points:
        by_currency[currency].append((customers, place, minutes_so_far, decimal_cents(cents_so_far)))
    return [_summary_of_points(currency, by_currency[currency], costly[currency]) for currency in by_currency]


class MovedInputsSql(NamedTuple):
    """What `_effort_in_sql` adds to the kept minutes and revenue: two expressions, their joins."""

    minutes: str = "0"
    revenue: str = "0"
    select_params: tuple = ()
    joins: str = ""
    join_params: tuple = ()


def _moved_inputs_sql(in_scope: QuerySet[Customer] | None, *, kept_on: date, today: date) -> MovedInputsSql:
    """The SQL of `_moved_effort_inputs`: the sums of the days between `kept_on` and `today`, less as
    many days a year before, joined per customer (revenue in the customer's currency), signed by the
    direction of the move. Nothing when the scores are of `today`."""
    if kept_on == today:
        return MovedInputsSql()
    sign, days = _window_move(kept_on, today)
    minutes, revenue = _effort_sum_queries(in_scope, **days)
    minutes_sql, minutes_params = minutes.query.sql_with_params()
    revenue_sql, revenue_params = revenue.query.sql_with_params()
    return MovedInputsSql(
        minutes="%s * COALESCE(m.total, 0)",
        revenue="%s * COALESCE(r.total, 0)",
        select_params=(sign, sign),
        joins=f"""
            LEFT JOIN ({minutes_sql}) m ON m.customer_id = c.id
            LEFT JOIN ({revenue_sql}) r ON r.customer_id = c.id AND r.currency = c.currency
        """,
        join_params=(*minutes_params, *revenue_params),
    )


def _summary_of_points(currency: str, points: list[tuple], costly: list[EffortRow]) -> EffortAgainstValue:
    """An EffortAgainstValue from the running sums down the ranking (customers, place, minutes so far,
    revenue so far): every place (`_effort_summary`) or only the curve's (`_effort_in_sql`). The
    curve has a point every hundredth of the customers and at the last; the top tenth's share is
    read at its place."""
    customers, _, total_minutes, total_revenue = points[-1]
    top = max(1, math.ceil(customers / 10))
    step = max(1, customers // 100)  # at most ~100 points on the chart
    pareto = [(Decimal("0"), Decimal("0"), Decimal("0"))]
    top_minutes = 0
    for _, place, minutes_so_far, revenue_so_far in points:
        if place == top:
            top_minutes = minutes_so_far
        if place % step == 0 or place == customers:
            pareto.append(
                (
                    _percent(place, customers),
                    _percent(minutes_so_far, total_minutes) or Decimal("0"),
                    _percent(revenue_so_far, total_revenue) or Decimal("0"),
                )
            )
    return EffortAgainstValue(
        currency,
        customers,
        int(total_minutes),
        total_revenue,
        _percent(top_minutes, total_minutes),
        pareto,
        costly,
    )


def _moved_effort_inputs(
    in_scope: QuerySet[Customer] | None, listed: list[tuple], *, kept_on: date, today: date
) -> tuple[dict, dict]:
    """The kept inputs, every one of the 12 months to `kept_on`, moved to the 12 months to `today`
    (less than a window away): the window to the later day is the earlier one's, plus the days between
    the two, less as many days a year before them. Exact: the kept figures are sums of the same rows."""
    sign, days = _window_move(kept_on, today)
    minutes = {row[0]: row[5] for row in listed if row[5]}
    revenue = {(row[0], row[3]): row[6] for row in listed if row[6]}
    between = _effort_sums(in_scope, **days)
    for into, more in zip((minutes, revenue), between, strict=True):
        for key, value in more.items():
            into[key] = into.get(key, 0) + sign * value
    return minutes, revenue


def _window_move(kept_on: date, today: date) -> tuple[int, dict]:
    """How the 12 months to `kept_on` become the 12 months to `today`: the sign, and the days (as
    `_effort_sums` takes them) between the two less as many days a year before them. The days between
    are gained moving forward, lost moving back."""
    first, last = sorted((kept_on, today))
    sign = 1 if today > kept_on else -1
    return sign, {"after": first, "through": last, "less": (window_start(first), window_start(last))}


def _effort_sums(
    in_scope: QuerySet[Customer] | None,
    *,
    after: date,
    through: date,
    less: tuple[date, date] | None = None,
) -> tuple[dict, dict]:
    """Minutes per customer and revenue paid per (customer, currency) of the customers in scope (None:
    every customer) on the days after..through; with `less` (another after, through), less those of
    its days. Two queries."""
    minutes, revenue = _effort_sum_queries(in_scope, after=after, through=through, less=less)
    return dict(minutes), {(customer_id, currency): total for customer_id, currency, total in revenue}


def _effort_sum_queries(
    in_scope: QuerySet[Customer] | None,
    *,
    after: date,
    through: date,
    less: tuple[date, date] | None = None,
) -> tuple[QuerySet, QuerySet]:
    """`_effort_sums`'s two GROUP BY queries, unevaluated: (customer_id, total) of the minutes and
    (customer_id, currency, total) of the revenue. `_effort_in_sql` joins them in."""
    received = Q(received_on__gt=after, received_on__lte=through)
    # The local days as an instant range: the same interactions as `occurred_at__date`, without
    # converting every row's timestamp to the local zone first.
    occurred = Q(occurred_at__gte=_local_midnight(after + timedelta(days=1)))
    occurred &= Q(occurred_at__lt=_local_midnight(through + timedelta(days=1)))
    paid, spent = F("allocated_amount"), F("minutes_spent")
    if less:
        less_received = Q(received_on__gt=less[0], received_on__lte=less[1])
        less_occurred = Q(occurred_at__gte=_local_midnight(less[0] + timedelta(days=1)))
        less_occurred &= Q(occurred_at__lt=_local_midnight(less[1] + timedelta(days=1)))
        paid = Case(When(received, then=paid), default=-paid, output_field=MONEY)
        spent = Case(When(occurred, then=spent), default=-spent, output_field=IntegerField())
        received, occurred = received | less_received, occurred | less_occurred
    if in_scope is not None:
        received &= Q(customer__in=in_scope.values("pk"))
        occurred &= Q(customer__in=in_scope.values("pk"))
    # What a payment allocated is kept on it (Payment.allocated_amount, the sum of its allocations):
    # summing that reads the payments only, not every allocation joined to its payment.
    revenue = (
        Payment.objects.filter(received)
        .order_by()
        .values_list("customer_id", "currency")
        .annotate(total=Sum(paid))
    )
    minutes = (
        Interaction.objects.filter(occurred).order_by().values_list("customer_id").annotate(total=Sum(spent))
    )
    return minutes, revenue


def _effort_summary(currency: str, rows: list[EffortRow]) -> EffortAgainstValue:
    # Most minutes, then most revenue, then by name: two stable sorts (a reversed sort keeps the order
    # of equals), cheaper than a key negating a Decimal per row.
    rows.sort(key=attrgetter("name", "customer_id"))
    rows.sort(key=attrgetter("minutes", "revenue"), reverse=True)
    points, minutes_so_far, revenue_so_far = [], 0, Decimal("0.00")
    for place, row in enumerate(rows, start=1):
        minutes_so_far += row.minutes
        revenue_so_far += row.revenue
        points.append((len(rows), place, minutes_so_far, revenue_so_far))
    costly = sorted((row for row in rows if row.cost > row.brings), key=lambda row: row.brings - row.cost)
    summary = _summary_of_points(currency, points, costly)
    summary.rows = rows
    return summary


@dataclass
class ExcuseMix:
    months: list[date]
    categories: list[tuple[str, str]]  # (value, label) of categories that occur
    counts: dict[date, dict[str, int]]
    totals: dict[str, int]


def excuse_mix(
    *, today: date, customers: QuerySet[Customer] | None = None, months: int = 12, **filters
) -> ExcuseMix:
    """Excuses per category and month over the last `months` months (this one to date). One query."""
    first = _first_of_month_back(today, months - 1)
    rows = (
        Excuse.objects.filter(customer__in=_customers_in(customers, **filters).values("pk"))
        .filter(given_on__gte=first, given_on__lte=today)
        .order_by()
        .annotate(month=TruncMonth("given_on"))
        .values("month", "category")
        .annotate(n=Count("pk"))
    )
    month_list = [_first_of_month_back(today, back) for back in range(months - 1, -1, -1)]
    counts = {month: defaultdict(int) for month in month_list}
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        month = row["month"].date() if hasattr(row["month"], "date") else row["month"]
        counts[month][row["category"]] += row["n"]
        totals[row["category"]] += row["n"]
    categories = [(value, label) for value, label in ExcuseCategory.choices if totals.get(value)]
    return ExcuseMix(month_list, categories, {m: dict(c) for m, c in counts.items()}, dict(totals))


def repeated_excuses(*, today: date, customers: QuerySet[Customer] | None = None, **filters) -> list[dict]:
    """Customers giving the same excuse category twice or more in 12 months, most first. One query."""
    labels = dict(ExcuseCategory.choices)
    rows = (
        Excuse.objects.filter(customer__in=_customers_in(customers, **filters).values("pk"))
        .filter(given_on__gt=window_start(today), given_on__lte=today)
        .order_by()
        .values("customer_id", "customer__name", "customer__account_number", "category")
        .annotate(times=Count("pk"), first_given=Min("given_on"), last_given=Max("given_on"))
        .filter(times__gte=2)
        .order_by("-times", "customer__name")
    )
    return [{**row, "category_label": labels.get(row["category"], row["category"])} for row in rows]


def complaints_used_to_delay(
    *, today: date, customers: QuerySet[Customer] | None = None, limit: int | None = None, **filters
) -> list[dict]:
    """Rejected complaints opened soon after a reminder, with the delay around them, the latest
    rejected first; `limit`: only the first that many. One query.

    "Soon after a reminder" is a condition in SQL, so the limit is SQL's too: through the index on
    (outcome, resolved_on) PostgreSQL walks the latest rejections and stops at the limit. Without it,
    the 50,000-customer ledger's 16,000 rejections in a year each probed their reminders and payments
    (0.6 s) for a section that shows 20."""
    last_reminder = Reminder.objects.filter(customer=OuterRef("customer"), run_on__lte=OuterRef("opened_on"))
    next_payment = Payment.objects.filter(
        customer=OuterRef("customer"), received_on__gte=OuterRef("resolved_on")
    )
    rows = (
        Complaint.objects.filter(customer__in=_customers_in(customers, **filters).values("pk"))
        .filter(
            outcome=ComplaintOutcome.REJECTED, resolved_on__gt=window_start(today), resolved_on__lte=today
        )
        .annotate(reminder_on=Subquery(last_reminder.order_by("-run_on").values("run_on")[:1]))
        .filter(reminder_on__gte=F("opened_on") - timedelta(days=REMINDER_BEFORE_COMPLAINT_DAYS))
        .annotate(paid_on=Subquery(next_payment.order_by("received_on").values("received_on")[:1]))
        .values(
            "pk",
            "customer_id",
            "customer__name",
            "category",
            "opened_on",
            "resolved_on",
            "reminder_on",
            "paid_on",
        )
        .order_by("-resolved_on", "pk")
    )
    result = []
    for row in rows if limit is None else rows[:limit]:
        paid_on = row["paid_on"] if row["paid_on"] and row["paid_on"] <= today else None
        result.append(
            {
                **row,
                "paid_on": paid_on,
                "days_after_reminder": (row["opened_on"] - row["reminder_on"]).days,
                "days_held": (row["resolved_on"] - row["opened_on"]).days,
                "days_to_pay_after_rejection": (paid_on - row["resolved_on"]).days if paid_on else None,
            }
        )
    return result


def payment_rate_by_debt_band(
    *, as_of: date, customers: QuerySet[Customer] | None = None, lookback_days: int = 30, **filters
) -> list[dict]:
    """Per currency and balance band: customers, how many paid in `lookback_days`, share of balance paid.

    The band is the customer's open balance `lookback_days` before `as_of`. From the kept rows
    (reports/debt_bands.py) when every customer in scope has them as of `as_of`, in two queries; for a
    past day with a fresh daily snapshot, from the snapshot's band totals (reports/snapshots.py), in
    three more; otherwise live from invoices and allocations (`debt_bands.balances`), in two queries and
    a pass over the customers with a balance.
    """
    in_scope = _customers_in(customers, **filters).values("pk")
    totals = None
    if lookback_days == debt_bands.LOOKBACK_DAYS:
        totals = debt_bands.kept_band_totals(in_scope, as_of=as_of)
        if totals is None and customers is None:
            totals = snapshots.snapshot_debt_bands(as_of, **filters)
    if totals is None:
        found = debt_bands.balances(in_scope, as_of=as_of, lookback_days=lookback_days)
        totals = debt_bands.band_totals(found)
    result = []
    for entry in sorted(totals, key=lambda entry: (entry["currency"], entry["band"])):
        entry.pop("group", None)
        entry["band"] = _band_label(entry["band"])
        entry["paying_share"] = _percent(entry["paying"], entry["customers"])
        entry["paid_share"] = _percent(entry["paid"], entry["balance"])
        result.append(entry)
    return result


def channel_follow_through(
    *, today: date, customers: QuerySet[Customer] | None = None, **filters
) -> list[dict]:
    """Per segment and channel (call, email, letter): contacts in 12 months and the share paid within 7 days.

    Counts outbound interactions and reminders; kept per past month (reports/channels.py explains why
    and how), so two or three queries.
    """
    counts = channels.follow_through(today=today, customers=customers, **filters)
    names = channels.segment_names(segment for segment, _ in counts)
    rows: dict[tuple[str, str], dict] = {}
    for (segment_id, stored_channel), (contacts, followed) in counts.items():
        channel = {"phone": "call"}.get(stored_channel, stored_channel)
        key = (names.get(segment_id, "No segment"), channel)
        entry = rows.setdefault(key, {"segment": key[0], "channel": channel, "contacts": 0, "followed": 0})
        entry["contacts"] += contacts
        entry["followed"] += followed
    for entry in rows.values():
        entry["followed_share"] = _percent(entry["followed"], entry["contacts"])
    return [rows[key] for key in sorted(rows)]


def _local_midnight(day: date) -> datetime:
    """The first instant of `day` in the current time zone (as `__date` lookups read days)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _band_label(band: int) -> str:
    limits = [f"{limit:,.0f}" for limit in DEBT_BANDS]
    if band == 0:
        return f"under {limits[0]}"
    if band == len(DEBT_BANDS):
        return f"{limits[-1]} or more"
    return f"{limits[band - 1]} to {limits[band]}"


def _first_of_month_back(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _percent(part, whole) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * HUNDRED / Decimal(whole)).quantize(TENTH, rounding=ROUND_HALF_UP)


def _money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
