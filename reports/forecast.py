"""The 13-week cash-in forecast, as of any day, from each customer's own way of paying.

Imported through `reports.selectors`. Everything is per currency; amounts are Decimal.

How a day `d` is forecast (week k is the days d+7(k-1)+1 .. d+7k):
- **Open invoices** (issued by d, open amount on d = amount less allocations received by d) are summed
  per (customer, currency, week of the due date relative to d), with their amount-weighted due offset.
  Each group is spread by the customer's distribution of days late over the 12 months before d
  (amount-weighted, in weekly bins with the mean of each bin: reports/lateness.py, kept in
  `LatenessBin` for the nightly day), or by the segment's when the customer paid fewer than
  MIN_PAID_INVOICES invoices. All of it is one SQL statement (`_spread_sql`); halves round to even
  as Python's round() does, so the figures are the same as spreading each group in Python. An
  invoice already overdue can only be paid later than it is now, so the distribution is cut at its
  age and rescaled; when nothing is left it is not
  expected within the horizon. Invoices more than a year overdue or due after the horizon are left
  out (days late count from the due date, early payments as 0), and so are invoices not issued yet.
- **Agreements** active on d bring their instalments pending on d, in the instalment's week (one
  already due but within its grace days in week 1), times the customer's kept-rate (agreements kept
  / kept or broken, 12 months; segment's, then everyone's when it has none), up to the open amount of
  the invoices they cover; those invoices are not spread again.
- **Disputed invoices** (in a complaint open on d) are held back until the complaint is expected to be
  resolved (opened + the mean days complaints took over 12 months), less the share of disputes that
  ended upheld (treated as cancelled), then spread like an invoice due that day.
- **The interval** per week is the 10th-90th percentile of a normal approximation: each (customer,
  due week) group lands in week k with probability p, so it adds A^2 p (1 - p) to the variance.
- **The naive forecast** puts every open invoice on its due date (overdue ones in week 1).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from functools import cached_property

from django.db import router
from django.db.models import Avg, Case, Count, F, Q, Sum, Value, When

from agreements.choices import AgreementState, InstalmentState
from agreements.models import Agreement, Instalment
from calls.choices import ComplaintOutcome
from calls.models import Complaint
from customers.models import Customer
from invoices.models import Allocation, Invoice

from .expressions import DaysBetween, cents, roomy_cursor
from .lateness import HISTORY_DAYS, bins_of, kept_rows
from .ledger import LedgerScope
from .models import ForecastSpread

WEEKS = 13
HORIZON_DAYS = WEEKS * 7
MIN_PAID_INVOICES = 5
DEFAULT_DISPUTE_DAYS = 30
# The 10th and 90th percentiles of a normal distribution are the mean -/+ this many deviations.
Z_90 = Decimal("1.2816")
ZERO = Decimal("0")
ONE = Decimal("1")
CENT = Decimal("0.01")
MICROS = 1_000_000
MICRO = "0.000001"  # in SQL: a sum of millionths times this is exact in PostgreSQL's numeric

FORECAST_DEFINITIONS = {
    "forecast": (
        "Expected receipts per week for 13 weeks: each open invoice spread by its customer's amount-weighted "
        "days late over the last 12 months (the segment's with fewer than 5 invoices paid), agreements by "
        "instalment dates x kept-rate, disputed invoices held back until expected resolution, less the "
        "share of disputes upheld; invoices not issued yet are left out."
    ),
    "interval": "10th-90th percentile of each week's receipts from the same distributions.",
    "naive": "Naive forecast: every open invoice paid on its due date (overdue ones in the first week).",
    "wape": "WAPE = sum of |forecast - actual| / sum of actual receipts x 100, over the weeks compared.",
}


# --- Distributions of days late ------------------------------------------------------------------------


@dataclass
class Lateness:
    """An amount-weighted distribution of days late: bins of (mean days late, amount), and invoices paid."""

    bins: dict[int, list[Decimal]] = field(default_factory=lambda: defaultdict(lambda: [ZERO, ZERO]))
    paid_invoices: int = 0

    def add(self, bin_number: int, amount: Decimal, amount_days: Decimal, count: int) -> None:
        self.bins[bin_number][0] += amount
        self.bins[bin_number][1] += amount_days
        self.paid_invoices += count

    @cached_property
    def shares(self) -> list[tuple[int, Decimal]]:
        """(days late, share of the amount), the mean days late of each bin, latest last (read once
        every bin is added)."""
        total = sum((amount for amount, _ in self.bins.values()), ZERO)
        if not total:
            return []
        return sorted(
            (round(amount_days / amount), amount / total)
            for amount, amount_days in self.bins.values()
            if amount > 0
        )


@dataclass
class Distributions:
    """Each (customer, currency)'s distribution, with the segment's (and everyone's) to fall back on."""

    by_customer: dict[tuple[int, str], Lateness]
    by_segment: dict[tuple[int | None, str], Lateness]
    by_currency: dict[str, Lateness]
    segment_of: dict[int, int | None]

    def for_customer(self, customer_id: int, currency: str) -> list[tuple[int, Decimal]]:
        own = self.by_customer.get((customer_id, currency))
        if own and own.paid_invoices >= MIN_PAID_INVOICES:
            return own.shares
        segment = self.by_segment.get((self.segment_of.get(customer_id), currency))
        if segment and segment.paid_invoices >= MIN_PAID_INVOICES:
            return segment.shares
        everyone = self.by_currency.get(currency)
        return everyone.shares if everyone else []


# --- The spreading, in SQL -----------------------------------------------------------------------------

# Shifts the due week so the SQL divides non-negative numbers (integer division truncates toward zero).
OVERDUE_BINS = HISTORY_DAYS // 7 + 1
DUE_WEEK_SHIFT = OVERDUE_BINS * 7 - 1  # a group's due week is (days to the due date + this) / 7
NO_SEGMENT = 0  # a customer without a segment falls back on the others without one (ids start at 1)


def _sql(queryset) -> tuple[str, tuple]:
    sql, params = queryset.query.sql_with_params()
    return sql, tuple(params)


def _week_sql(days: str) -> str:
    """week_of() in SQL, for an integer expression of days after the as-of day."""
    return f"(CASE WHEN {days} < 1 THEN 1 ELSE ({days} + 6) / 7 END)"


def _round_sql(ratio: str) -> str:
    """Python's round() in SQL: to the nearest integer, halves to the even one (ROUND takes them away
    from zero), so a group or a bin lands on the same day as in Python."""
    return (
        f"CAST(CASE WHEN ABS(({ratio}) - ROUND({ratio})) = 0.5 THEN 2 * ROUND(({ratio}) / 2) "
        f"ELSE ROUND({ratio}) END AS INTEGER)"
    )


def rounded_mean_sql(weighted: str, weight: str) -> str:
    """weighted / weight to a whole number, halves to even (`_round_sql`), NULL when weight is not
    above 0: a bin's mean days late, a group's mean days to its due date."""
    return f"CASE WHEN {weight} > 0 THEN {_round_sql(f'({weighted}) * 1.0 / ({weight})')} END"


def rated(bins) -> tuple[str, tuple]:
    """Bins (a queryset or SQL and its parameters giving lateness.COLUMNS) with the two figures the
    spreading reads of each bin besides them: its whole `cents` and its mean days `late`."""
    sql, params = bins if isinstance(bins, tuple) else _sql(bins)
    late = rounded_mean_sql("amt_days", "amt")
    return f"SELECT d.*, CAST(ROUND(amt * 100) AS BIGINT) AS cents, {late} AS late FROM ({sql}) d", params


def _micro_sql(amount: str, part: str, total: str) -> str:
    """A group's amount (a double) x part / total (whole cents) in whole millionths of the currency
    unit, as an integer: each row is rounded on its own, from the same operands in every statement (so
    the same integer), and integers add up the same in any order, so the figures summed per customer
    (the kept spreads) and per currency (read live) agree to the millionth whatever the plan. The
    group's amount is made a double once per group and the bins' cents once per bin: a conversion from
    numeric per (group, bin) row was a tenth of the statement."""
    return f"CAST(ROUND({amount} * {part} / CAST({total} AS DOUBLE PRECISION) * {MICROS}) AS BIGINT)"


def grouped(moves: tuple[str, tuple]) -> tuple[str, tuple]:
    """The CTE `grp` of `_spread_sql` (after `moves` and any it reads): the open money on the day per
    (customer, segment, currency, due week): in all and not held, each with its amount x days from
    the day to the due date. `moves` (`_moves`): the CTE `moves`, the rows (customer, segment,
    currency, off, held, amt) of the invoices open on the day."""
    moves_sql, params = moves
    week = f"(off + {DUE_WEEK_SHIFT}) / 7"
    sql = f"""{moves_sql},
    grp_sums AS (
        SELECT customer, COALESCE(segment, {NO_SEGMENT}) AS seg, currency, {week} AS wk,
               SUM(amt) AS amount_all, SUM(amt * off) AS offs_all,
               SUM(CASE WHEN held = 0 THEN amt ELSE 0 END) AS amount,
               SUM(CASE WHEN held = 0 THEN amt * off ELSE 0 END) AS offs
        FROM moves GROUP BY customer, COALESCE(segment, {NO_SEGMENT}), currency, {week}
        HAVING SUM(amt) > 0
    ),
    grp AS (
        SELECT s.*, {rounded_mean_sql("offs", "amount")} AS due,
               {rounded_mean_sql("offs_all", "amount_all")} AS due_all
        FROM grp_sums s
    )"""
    return sql, params


def _spread_sql(
    *,
    groups: tuple[str, tuple],
    bins,
    customer_ids: list[int],
    by_customer: bool = False,
    only_fallback: bool = False,
    with_interval: bool = True,
) -> tuple[str, tuple]:
    """One statement: the open money on the day grouped by (customer, currency, due week), spread over
    the weeks by the chosen distribution (the customer's with MIN_PAID_INVOICES invoices paid, else its
    segment's, else everyone's in the currency), summed per currency and week with the variance; the
    naive forecast and the open total; and the bins the disputed invoices' customers need.

    `groups` (`grouped`, or the backtest's week_end_sources) is the CTE `grp` (after any it reads): the
    open invoices on the day summed per (customer, currency, due week), those held (in an agreement or
    a dispute) counting in the naive forecast and the open total only, with the mean days to the due
    date of both (`due`, `due_all`). `bins` (SQL and its parameters) gives lateness.COLUMNS, `cents`
    and `late` (`rated`).

    Each group's part in each bin is taken to a whole millionth of the currency unit (`_micro_sql`)
    and its variance per week to a millionth, before anything is summed, so the kept spreads
    (reports/spreads.py: `by_customer`, one row per customer, currency and week, with its level of
    distribution, its naive and open money) add up to exactly the figures read live. (A share per
    bin, through a window sum over the group, spares the grouping by week and the join back that a
    share per week needs: a fifth of the statement's time on the 20,000-customer ledger.)
    `only_fallback` spreads only the groups of customers with too little history of their own (their
    segment's distribution depends on the scope, so they are never kept). Without `with_interval` the
    variance is left out (0): a third of the statement's time, and the backtest
    reads only the expected weeks."""
    groups_sql, groups_params = groups
    params: list = list(groups_params)
    bins_sql, bins_params = bins
    params.extend(bins_params)
    # The mean days late of a segment's or a currency's bin, once per bin (never per group joined to it).
    late = f"{rounded_mean_sql('amt_days', 'amt')} AS late"
    wanted = ", ".join(["%s"] * len(customer_ids)) or "NULL"
    # The distributions a group can be spread by, each under one number: a customer's own (its id,
    # from 1), a segment's (-1 - the segment, NO_SEGMENT included) and the currency's (0).
    own = "SELECT customer AS dist, currency, cents, late FROM dc WHERE amt > 0 UNION ALL"
    own_dists = "" if only_fallback else own
    naive_week = _week_sql("due_all")
    expected = f"SUM(micro) * {MICRO}"
    variance = (
        f"""UNION ALL
        SELECT customer, currency, week, 0, ROUND(amount * amount * p * (1 - p), 6)
        FROM (
            SELECT customer, currency, week, amount, SUM(cents) * 1.0 / MAX(total) AS p
            FROM parts WHERE week <= {WEEKS} GROUP BY customer, currency, wk, week, amount
        ) gw"""
        if with_interval
        else ""
    )
    if by_customer:
        outputs = f"""SELECT 'invoices', currency, week, customer, {expected}, SUM(variance),
           CAST(NULL AS INTEGER)
    FROM cw GROUP BY customer, currency, week
    UNION ALL
    SELECT 'naive', currency, {naive_week}, customer, SUM(amount_all), NULL, NULL
    FROM grp g GROUP BY customer, currency, {naive_week}
    UNION ALL
    SELECT 'open', currency, NULL, customer, SUM(amount_all), NULL, NULL FROM grp GROUP BY customer, currency
    UNION ALL
    SELECT 'level', currency, MIN(lvl), customer, NULL, NULL, NULL
    FROM spreadable GROUP BY customer, currency"""
    else:
        outputs = f"""SELECT 'invoices', currency, week, CAST(NULL AS INTEGER), {expected}, SUM(variance),
           CAST(NULL AS INTEGER)
    FROM cw GROUP BY currency, week
    UNION ALL
    SELECT 'naive', currency, {naive_week}, NULL, SUM(amount_all), NULL, NULL
    FROM grp g GROUP BY currency, {naive_week}
    UNION ALL
    SELECT 'open', currency, NULL, NULL, SUM(amount_all), NULL, NULL FROM grp GROUP BY currency
    UNION ALL
    SELECT 'customer', currency, bin, customer, amt, amt_days, paid FROM dc WHERE customer IN ({wanted})
    UNION ALL
    SELECT 'segment', currency, bin, seg, amt, amt_days, paid FROM seg_bins
    UNION ALL
    SELECT 'currency', currency, bin, NULL, amt, amt_days, paid FROM cur_bins"""
    sql = f"""
    WITH {groups_sql},
    dc AS (
        SELECT cid AS customer, COALESCE(sid, {NO_SEGMENT}) AS seg, currency, bin, amt, amt_days,
               cnt AS paid, cents, late
        FROM ({bins_sql}) d
    ),
    cust_paid AS (SELECT customer, currency, SUM(paid) AS paid FROM dc GROUP BY customer, currency),
    seg_sums AS (
        SELECT seg, currency, bin, SUM(amt) AS amt, SUM(amt_days) AS amt_days, SUM(paid) AS paid,
               SUM(cents) AS cents
        FROM dc GROUP BY seg, currency, bin
    ),
    seg_bins AS (SELECT s.*, {late} FROM seg_sums s),
    seg_paid AS (SELECT seg, currency, SUM(paid) AS paid FROM seg_bins GROUP BY seg, currency),
    cur_sums AS (
        SELECT currency, bin, SUM(amt) AS amt, SUM(amt_days) AS amt_days, SUM(paid) AS paid,
               SUM(cents) AS cents
        FROM seg_sums GROUP BY currency, bin
    ),
    cur_bins AS (SELECT c.*, {late} FROM cur_sums c),
    spreadable AS (
        SELECT g.customer, g.currency, g.wk, g.seg, g.amount,
               CAST(g.amount AS DOUBLE PRECISION) AS amount_f, g.due,
               CASE WHEN cp.paid >= {MIN_PAID_INVOICES} THEN 1 WHEN sp.paid >= {MIN_PAID_INVOICES} THEN 2
                    ELSE 3 END AS lvl,
               CASE WHEN cp.paid >= {MIN_PAID_INVOICES} THEN g.customer WHEN sp.paid >= {MIN_PAID_INVOICES}
                    THEN -1 - g.seg ELSE 0 END AS dist
        FROM grp g
        LEFT JOIN cust_paid cp ON cp.customer = g.customer AND cp.currency = g.currency
        LEFT JOIN seg_paid sp ON sp.seg = g.seg AND sp.currency = g.currency
        WHERE g.amount > 0
        -- In the order of the join below and of the window over each group after it: the join then
        -- gives its ~370k rows in that order, and they are not sorted again.
        ORDER BY dist, g.currency, g.customer, g.wk
    ),
    dists AS (
        {own_dists}
        SELECT -1 - seg AS dist, currency, cents, late FROM seg_bins WHERE amt > 0
        UNION ALL
        SELECT 0, currency, cents, late FROM cur_bins WHERE amt > 0
    ),
    gbin AS (
        -- One join with every distribution, not one per level: PostgreSQL then plans the ~370k
        -- (group, bin) rows as many (a merge join and a hashed sum per week, not sorts of a handful),
        -- and no union of the joins' rows is copied.
        SELECT g.dist, g.customer, g.currency, g.wk, g.amount, g.amount_f, g.due, b.cents, b.late
        FROM spreadable g JOIN dists b ON b.dist = g.dist AND b.currency = g.currency
    ),
    parts AS (
        SELECT customer, currency, wk, amount, amount_f, cents, {_week_sql("(due + late)")} AS week,
               SUM(cents) OVER (PARTITION BY dist, currency, customer, wk) AS total
        FROM gbin WHERE due + late >= 1
    ),
    cw AS (
        SELECT customer, currency, week, {_micro_sql("amount_f", "cents", "total")} AS micro, 0 AS variance
        FROM parts WHERE week <= {WEEKS}
        {variance}
    )
    {outputs}
    """
    return sql, (*params, *([] if by_customer else customer_ids))


def _number(value) -> Decimal:
    """A sum read back from the statement: PostgreSQL gives Decimal; SQLite a float, to a micro-unit."""
    if value is None:
        return ZERO
    if isinstance(value, Decimal):
        return value
    return Decimal(repr(round(float(value), 6)))


@dataclass
class OpenInvoice:
    """One invoice open on the day that is forecast on its own (covered by an agreement, or disputed)."""

    pk: int
    customer_id: int
    segment_id: int | None
    currency: str
    due_date: date
    open_amount: Decimal


def open_invoices(as_of: date, invoices) -> list[OpenInvoice]:
    """The given invoices (a queryset) with their open amount on `as_of`, those still open: one query."""
    rows = (
        invoices.filter(issue_date__lte=as_of)
        .annotate(paid=Sum("allocations__amount", filter=Q(allocations__payment__received_on__lte=as_of)))
        .values("pk", "customer_id", "customer__segment_id", "currency", "due_date", "amount", "paid")
        .order_by()
    )
    found = []
    for row in rows:
        open_amount = cents(row["amount"]) - cents(row["paid"])
        if open_amount > 0:
            found.append(
                OpenInvoice(row["pk"], row["customer_id"], row["customer__segment_id"], row["currency"],
                            row["due_date"], open_amount)
            )  # fmt: skip
    return found


# --- The forecast --------------------------------------------------------------------------------------


@dataclass
class WeekForecast:
    week: int  # 1..13
    starts: date
    ends: date
    expected: Decimal
    low: Decimal
    high: Decimal
    naive: Decimal
    from_invoices: Decimal
    from_agreements: Decimal
    from_disputes: Decimal


@dataclass
class CurrencyForecast:
    currency: str
    as_of: date
    weeks: list[WeekForecast]
    # Open money the forecast looks at: invoices due by the end of week 13 and at most a year overdue,
    # and every open invoice in an active agreement or an open dispute.
    open_amount: Decimal
    not_expected: Decimal  # of which not expected within the 13 weeks

    @property
    def total(self) -> Decimal:
        return sum((week.expected for week in self.weeks), ZERO)

    @property
    def naive_total(self) -> Decimal:
        return sum((week.naive for week in self.weeks), ZERO)


class _Weeks:
    """Running sums per currency and week (1..13): expected by source, variance, naive."""

    def __init__(self):
        self.sums = defaultdict(lambda: defaultdict(lambda: defaultdict(lambda: ZERO)))

    def add(self, currency: str, week: int, name: str, amount: Decimal) -> None:
        if 1 <= week <= WEEKS:
            self.sums[currency][week][name] += amount


def week_of(days_after: int) -> int:
    """The forecast week of a day `days_after` the as-of day (1 for the first seven days)."""
    return max(1, -(-days_after // 7))


def spread(weeks: _Weeks, *, currency: str, amount: Decimal, due_offset: int, shares, source: str) -> None:
    """Spread `amount` due `due_offset` days after the day by a days-late distribution, cut at the days
    it is already late (it was not paid by the day) and rescaled; records the variance as well."""
    possible = [(late, share) for late, share in shares if due_offset + late >= 1]
    total = sum((share for _, share in possible), ZERO)
    if not total:
        return
    by_week = defaultdict(lambda: ZERO)
    for late, share in possible:
        by_week[week_of(due_offset + late)] += share / total
    for week, probability in by_week.items():
        weeks.add(currency, week, source, amount * probability)
        weeks.add(currency, week, "variance", amount * amount * probability * (ONE - probability))


def _agreement_rates(as_of: date, scope: LedgerScope, active) -> dict:
    """Kept-rates over the 12 months to `as_of` keyed by customer, (segment, currency) and currency:
    two queries, the customers' only for those in the `active` agreements (the only ones asked for;
    everyone's would be some 10k rows a day on the 20,000-customer ledger)."""
    closed = Agreement.objects.filter(
        closed_on__gt=as_of - timedelta(days=HISTORY_DAYS),
        closed_on__lte=as_of,
        state__in=[AgreementState.KEPT, AgreementState.BROKEN],
    )
    if scope.currency:
        closed = closed.filter(currency=scope.currency)
    counted = {"kept": Count("id", filter=Q(state=AgreementState.KEPT)), "closed": Count("id")}
    counts = defaultdict(lambda: [0, 0])
    for row in closed.values("customer__segment_id", "currency").annotate(**counted).order_by():
        for key in (("segment", row["customer__segment_id"], row["currency"]), ("currency", row["currency"])):
            counts[key][0] += row["kept"]
            counts[key][1] += row["closed"]
    own = closed.filter(customer_id__in=active.values("customer_id"))
    for row in own.values("customer_id").annotate(**counted).order_by():
        counts[("customer", row["customer_id"])] = [row["kept"], row["closed"]]
    return {key: Decimal(kept) / Decimal(closed) for key, (kept, closed) in counts.items()}


def kept_rate(rates: dict, customer_id: int, segment_id: int | None, currency: str) -> Decimal:
    for key in (("customer", customer_id), ("segment", segment_id, currency), ("currency", currency)):
        if key in rates:
            return rates[key]
    return ONE  # nobody has kept or broken anything yet: take agreements at their word


def _dispute_rates(as_of: date, scope: LedgerScope) -> tuple[Decimal, int]:
    """Share of complaints resolved in the 12 months that were upheld, and the mean days they took."""
    resolved = Complaint.objects.filter(
        resolved_on__gt=as_of - timedelta(days=HISTORY_DAYS), resolved_on__lte=as_of
    )
    if scope.segment_id:
        resolved = resolved.filter(customer__segment_id=scope.segment_id)
    if scope.collector_id:
        resolved = resolved.filter(customer__collector_id=scope.collector_id)
    found = resolved.aggregate(
        total=Count("id"),
        upheld=Count("id", filter=Q(outcome=ComplaintOutcome.UPHELD)),
        days=Avg(DaysBetween(F("resolved_on"), F("opened_on"))),
    )
    if not found["total"]:
        return ZERO, DEFAULT_DISPUTE_DAYS
    return Decimal(found["upheld"]) / Decimal(found["total"]), round(found["days"] or 0)


def _active_agreements(as_of: date):
    return Agreement.objects.filter(made_on__lte=as_of).filter(
        Q(state=AgreementState.ACTIVE) | Q(closed_on__gt=as_of)
    )


def held_invoices(as_of: date, customer_ids: list[int] | None = None):
    """What is forecast on its own as of the day, as querysets: the agreements active on it, the ids of
    the invoices they cover, and the ids of the invoices in a complaint open on it; of these customers
    only when given (read through their index, not every agreement and complaint)."""
    active = _active_agreements(as_of)
    disputes = Complaint.objects.filter(opened_on__lte=as_of).filter(
        Q(resolved_on__isnull=True) | Q(resolved_on__gt=as_of)
    )
    if customer_ids is not None:
        active = active.filter(customer_id__in=customer_ids)
        disputes = disputes.filter(customer_id__in=customer_ids)
    covered_ids = Agreement.invoices.through.objects.filter(agreement__in=active).values("invoice_id")
    disputed_ids = Complaint.invoices.through.objects.filter(complaint__in=disputes).values("invoice_id")
    return active, covered_ids, disputed_ids


@dataclass
class KeptSpreads:
    """The kept spreads of a scope summed per (currency, week), and the scope narrowed to the customers
    whose groups are spread live (too little history of their own)."""

    sums: list[dict]
    live_scope: LedgerScope


def kept_spreads(as_of: date, scope: LedgerScope) -> KeptSpreads | None:
    """The kept spreads (reports/spreads.py) when every kept row is of `as_of` (None: spread live).
    Two queries: the days kept (an index's ends) and the sums."""
    rows = kept_rows(ForecastSpread, as_of, scope)
    if rows is None:
        return None
    sums = rows.values("currency", "week").annotate(
        expected=Sum("expected"), variance=Sum("variance"), naive=Sum("naive")
    )
    fallback = rows.filter(week=0, expected__isnull=True).values("customer_id")
    customers = Customer.objects.all() if scope.customers is None else scope.customers
    return KeptSpreads(list(sums.order_by()), replace(scope, customers=customers.filter(pk__in=fallback)))


def forecast(
    *, as_of: date, scope: LedgerScope | None = None, sources=None, with_interval: bool = True
) -> list[CurrencyForecast]:
    """The 13-week forecast per currency as of `as_of` (see the module's docstring). About ten queries,
    whatever the size of the ledger. The open invoices are spread in SQL (`_spread_sql`), reading the
    kept distributions (reports/lateness.py) when they are of `as_of`; when the kept spreads are of
    `as_of` too (reports/spreads.py), only the customers without a history of their own are spread and
    everyone else's weeks are summed from their rows. Python handles only the invoices in an agreement
    or a dispute, which are few.

    `sources` (reports/week_end_sources.py, the backtest's): the open invoices and the bins read from
    what was gathered for a run of week-ends, in its scope, instead of the ledger's tables, and on
    PostgreSQL spread by numpy (reports/spread_arrays.py); the same figures. Without `with_interval`
    the weeks' low and high equal the expected amount."""
    scope = scope or LedgerScope()
    if sources is not None and sources.scope != scope:
        raise ValueError("The sources were gathered for another scope.")
    weeks = _Weeks()
    open_total: dict[str, Decimal] = defaultdict(lambda: ZERO)

    active, covered_ids, disputed_ids = held_invoices(as_of)
    if sources is not None:
        covered, disputed_all = (
            sources.open_invoices(as_of, covered_ids),
            sources.open_invoices(as_of, disputed_ids),
        )
    else:
        covered = open_invoices(as_of, scope.filter(Invoice.objects.filter(pk__in=covered_ids)))
        disputed_all = open_invoices(as_of, scope.filter(Invoice.objects.filter(pk__in=disputed_ids)))
    # Those in an agreement too are forecast by its instalments. Left out here, not in SQL: an exclusion
    # by subquery turns the plan into a scan of every invoice.
    in_agreements = {invoice.pk for invoice in covered}
    disputed = [invoice for invoice in disputed_all if invoice.pk not in in_agreements]
    wanted = sorted({invoice.customer_id for invoice in disputed})
    held = [covered_ids, disputed_ids]
    kept = None if sources is not None else kept_spreads(as_of, scope)
    rows = _spread_rows(
        as_of,
        scope,
        sources=sources,
        kept=kept,
        held=held,
        held_ids=[invoice.pk for invoice in covered + disputed_all],
        customer_ids=wanted,
        with_interval=with_interval,
    )
    found = Distributions({}, {}, {}, {invoice.customer_id: invoice.segment_id for invoice in disputed})
    read = {"customer": found.by_customer, "segment": found.by_segment, "currency": found.by_currency}
    for kind, currency, week, key, first, second, third in rows:
        if kind == "invoices":
            weeks.add(currency, week, "invoices", _number(first))
            weeks.add(currency, week, "variance", _number(second))
        elif kind in ("naive", "open") and kept is not None:
            continue  # the kept rows hold every customer's
        elif kind == "naive":
            weeks.add(currency, week, "naive", _number(first))
        elif kind == "open":
            open_total[currency] += _number(first)
        else:  # the bins of a distribution: week is the bin
            name = {"customer": (key, currency), "segment": (key or None, currency)}.get(kind, currency)
            read[kind].setdefault(name, Lateness()).add(week, cents(first), cents(second), third)
    if kept is not None:
        for row in kept.sums:
            if row["week"] == 0:
                open_total[row["currency"]] += _number(row["naive"])
                continue
            weeks.add(row["currency"], row["week"], "invoices", _number(row["expected"]))
            weeks.add(row["currency"], row["week"], "variance", _number(row["variance"]))
            weeks.add(row["currency"], row["week"], "naive", _number(row["naive"]))

    _forecast_agreements(weeks, as_of, scope, active, covered)
    _forecast_disputes(weeks, as_of, scope, disputed, found)

    for invoice in covered + disputed:  # those outside the groups' window count on their own
        if not _in_window(invoice, as_of):
            open_total[invoice.currency] += invoice.open_amount
            weeks.add(
                invoice.currency, week_of((invoice.due_date - as_of).days), "naive", invoice.open_amount
            )
    return _results(weeks, as_of, open_total)


def _spread_rows(
    as_of: date,
    scope: LedgerScope,
    *,
    sources,
    kept,
    held: list,
    held_ids: list[int],
    customer_ids: list[int],
    with_interval: bool,
) -> list[tuple]:
    """The rows of `_spread_sql` for the day: from the backtest's arrays on PostgreSQL (reports/
    spread_arrays.py, no interval), else by the statement, from the gathered tables (SQLite) or the
    ledger (of the customers not kept only, when the kept spreads are of the day). `held`: querysets
    of the ids of the invoices forecast on their own; `held_ids`: those open on the day."""
    if sources is not None and sources.exact_sums:
        if with_interval:
            raise ValueError("The backtest's arrays spread without the interval.")
        return sources.spread(as_of, held_ids=held_ids, customer_ids=customer_ids)
    if sources is not None:
        groups, bins, alias = sources.groups(as_of, held=held), sources.bins(as_of), sources.alias
    else:
        groups = grouped(_moves(as_of, scope if kept is None else kept.live_scope, held=held))
        bins, alias = rated(bins_of(as_of, scope)), router.db_for_read(Invoice)
    sql, params = _spread_sql(
        groups=groups,
        bins=bins,
        customer_ids=customer_ids,
        only_fallback=kept is not None,
        with_interval=with_interval,
    )
    with roomy_cursor(alias) as cursor:  # the spreading sorts ~400k (group, bin) rows
        cursor.execute(sql, params)
        return cursor.fetchall()


def _moves(as_of: date, scope: LedgerScope, *, held: list) -> tuple[str, tuple]:
    """The invoices open on `as_of` due from a year before the day to the end of the horizon, with
    their open amount on the day, as the CTEs `paid_after` and `moves` of `grouped`. Two parts, so
    each reads an index: those still open now (the partial index invoice_open_aging), and those paid
    off since by a payment received after the day. The open amount on the day is what is open now plus
    what was allocated from payments received after the day (`allocated_amount` is the sum of the
    allocations, kept by invoices.services): `paid_after` sums those once per invoice (as of today,
    none; as of a day months back, some 300k allocations on the 20k ledger, which a correlated sum per
    invoice read again for each). `held`: querysets of invoice ids forecast on their own (agreements,
    disputes)."""
    earliest, latest = as_of - timedelta(days=HISTORY_DAYS), as_of + timedelta(days=HORIZON_DAYS)
    after = (
        Allocation.objects.filter(payment__received_on__gt=as_of)
        .values("invoice_id")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    is_held = Q()
    for ids in held:
        is_held |= Q(pk__in=ids)
    invoices = (
        scope.filter(Invoice.objects.all())
        .filter(issue_date__lte=as_of, due_date__gte=earliest, due_date__lte=latest)
        .values(
            "currency",
            iid=F("pk"),
            cid=F("customer_id"),
            sid=F("customer__segment_id"),
            off=DaysBetween(F("due_date"), Value(as_of)),
            held=Case(When(is_held, then=Value(1)), default=Value(0)),
            open_now=F("amount") - F("allocated_amount"),
        )
        .order_by()
    )
    after_sql, after_params = _sql(after)
    open_sql, open_params = _sql(invoices.filter(allocated_amount__lt=F("amount")))
    paid_sql, paid_params = _sql(invoices.filter(allocated_amount__gte=F("amount")))
    row = "i.cid AS customer, i.sid AS segment, i.currency, i.off, i.held"
    sql = f"""paid_after AS ({after_sql}),
    moves AS (
        SELECT {row}, i.open_now + COALESCE(a.total, 0) AS amt
        FROM ({open_sql}) i LEFT JOIN paid_after a ON a.invoice_id = i.iid
        UNION ALL
        SELECT {row}, i.open_now + a.total AS amt
        FROM ({paid_sql}) i JOIN paid_after a ON a.invoice_id = i.iid
    )"""
    return sql, (*after_params, *open_params, *paid_params)


def _in_window(invoice: OpenInvoice, as_of: date) -> bool:
    """Whether `open_groups` summed this invoice (due from a year before the day to the horizon)."""
    return -HISTORY_DAYS <= (invoice.due_date - as_of).days <= HORIZON_DAYS


def _forecast_agreements(weeks: _Weeks, as_of: date, scope: LedgerScope, active, covered) -> None:
    """Pending instalments in their weeks x kept-rate, up to the open amount of the covered invoices."""
    rates = _agreement_rates(as_of, scope, active)
    room = defaultdict(lambda: ZERO)  # open amount of each agreement's invoices
    # The active agreements' invoices, those open on the day kept here: a list of their thousands of
    # ids in the query cost more to build than the few rows it left out.
    links = Agreement.invoices.through.objects.filter(agreement__in=active).values_list(
        "agreement_id", "invoice_id"
    )
    open_of = {invoice.pk: invoice.open_amount for invoice in covered}
    counted = set()
    for agreement_id, invoice_id in links.order_by("invoice_id", "agreement_id"):
        if invoice_id in open_of and invoice_id not in counted:  # one in two agreements counts once
            room[agreement_id] += open_of[invoice_id]
            counted.add(invoice_id)
    instalments = (
        Instalment.objects.filter(agreement__in=active, due_date__lte=as_of + timedelta(days=HORIZON_DAYS))
        .filter(Q(state=InstalmentState.PENDING) | Q(settled_on__gt=as_of))
        .values("agreement_id", "agreement__customer_id", "agreement__customer__segment_id",
                "agreement__currency", "agreement__grace_days", "due_date", "amount")
        .order_by("agreement_id", "due_date")
    )  # fmt: skip
    for row in instalments:
        days_after = (row["due_date"] - as_of).days
        if days_after + row["agreement__grace_days"] < 0:  # missed on the day: counts as broken
            continue
        amount = min(row["amount"], room[row["agreement_id"]])
        room[row["agreement_id"]] -= amount
        if amount <= 0:
            continue
        currency = row["agreement__currency"]
        rate = kept_rate(
            rates, row["agreement__customer_id"], row["agreement__customer__segment_id"], currency
        )
        expected = amount * rate
        weeks.add(currency, week_of(days_after), "agreements", expected)
        weeks.add(currency, week_of(days_after), "variance", amount * amount * rate * (ONE - rate))


def _forecast_disputes(weeks, as_of: date, scope: LedgerScope, disputed, distributions) -> None:
    """Disputed invoices wait for the expected resolution, less the upheld share, then pay as usual."""
    if not disputed:
        return
    upheld_share, dispute_days = _dispute_rates(as_of, scope)
    # The latest complaint opened by the day, for each disputed invoice.
    opened = dict(
        Complaint.invoices.through.objects.filter(
            invoice_id__in=[i.pk for i in disputed], complaint__opened_on__lte=as_of
        )
        .values_list("invoice_id", "complaint__opened_on")
        .order_by("invoice_id", "complaint__opened_on")
    )
    for invoice in disputed:
        resolved_after = max(1, (opened.get(invoice.pk, as_of) - as_of).days + dispute_days)
        due_offset = max(resolved_after, (invoice.due_date - as_of).days)
        shares = distributions.for_customer(invoice.customer_id, invoice.currency)
        spread(weeks, currency=invoice.currency, amount=invoice.open_amount * (ONE - upheld_share),
               due_offset=due_offset, shares=[(max(late, 0), share) for late, share in shares],
               source="disputes")  # fmt: skip


def _results(weeks: _Weeks, as_of: date, open_total: dict) -> list[CurrencyForecast]:
    results = []
    for currency in sorted(set(weeks.sums) | set(open_total)):
        rows = []
        for number in range(1, WEEKS + 1):
            sums = weeks.sums[currency][number]
            parts = [_down(sums[name]) for name in ("invoices", "agreements", "disputes")]
            expected = sum(parts, ZERO)
            spread_by = Z_90 * sums["variance"].sqrt() if sums["variance"] > 0 else ZERO
            rows.append(
                WeekForecast(
                    week=number,
                    starts=as_of + timedelta(days=7 * number - 6),
                    ends=as_of + timedelta(days=7 * number),
                    expected=expected,
                    low=_down(max(ZERO, expected - spread_by)),
                    high=_down(expected + spread_by),
                    naive=_down(sums["naive"]),
                    from_invoices=parts[0],
                    from_agreements=parts[1],
                    from_disputes=parts[2],
                )
            )
        total = _down(open_total[currency])
        expected = sum((row.expected for row in rows), ZERO)
        results.append(CurrencyForecast(currency, as_of, rows, total, max(ZERO, total - expected)))
    return results


def _down(value: Decimal) -> Decimal:
    """To the cent, down: the weeks never add up to more than was open."""
    return value.quantize(CENT, rounding=ROUND_DOWN)
