"""What the forecasts of a run of week-ends read, gathered once: the backtest's shortcut.

A forecast as of a past day (reports/forecast.py) reads two large things: the invoices open on that day
with their open amount then (`_moves`: those open now, plus what was paid off after the day) and the
days-late bins of the money received in the 12 months before it (`lateness.live_bins`). Made from the
raw tables that is a join of invoices, allocations and payments each time: about 4 of a week-end's
6 seconds on the 20,000-customer ledger, and the backtest makes 26 of them, each a week apart.

So `WeekEndSources.gathered` reads them once for a run of days seven days apart into temporary tables
(on this connection, dropped when done; k counts the weeks from the first day), and each day's forecast
selects its own rows from them, with the columns the live reads give:
- bins: the allocations received from a year before the first day to the last, grouped by customer,
  currency, bin and the week-ends whose 12 months hold the day they were received (k_in <= k < k_out,
  k_out at most one past the last week-end);
- invoices: those the run can see open (issued by the last day, due in the window of some day, open now
  or paid off after the first day), with the week-ends whose window holds them (k_lo <= k <= k_hi);
- paid: the allocations received after the first day per invoice and week (kr);
- open: from those two, each invoice's open amount as steps (k_from <= k <= k_to): what is open now
  plus what was received after the step's week-ends; no step once it is paid.
The rows are the live reads' own, so the forecasts are each day's own (tests/reports/
test_week_end_sources.py compares both on random ledgers).

On PostgreSQL the bins (read straight from the ledger, no table), the open steps and the held
invoices' steps end as numpy arrays (money in whole cents), read once whichever connection gathered
them, so the parts can be gathered side by side (reports/backtest.py) and every thread reads them:
a day selects its rows, sums them per bin and per group of forecast.grouped (customer, currency,
due week), takes its held invoices out of their groups, and is spread by numpy (reports/
spread_arrays.py): the statement's figures to the millionth, in tens of milliseconds instead of over
a second a day. Integer sums are exact; SQLite's doubles would not be, and its ledger is the demo's,
so there each day sums its rows and spreads them in SQL, as the live forecast does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from django.db import connections, router
from django.db.models import F, Q, QuerySet, Sum, Value
from django.db.models.functions import Greatest, Least

from agreements.models import Agreement
from calls.models import Complaint
from customers.choices import CURRENCY_CODES
from invoices.models import Allocation, Invoice

from . import spread_arrays
from .expressions import DaysBetween, cents, decimal_cents
from .forecast import DUE_WEEK_SHIFT, HORIZON_DAYS, NO_SEGMENT, OpenInvoice, _sql, grouped, rated
from .lateness import HISTORY_DAYS, LAST_LATE_BIN, received_bins
from .ledger import LedgerScope

WEEK = 7
# Integer division truncates toward zero (PostgreSQL and SQLite alike); shifting the numerator by whole
# weeks keeps it non-negative, so it floors, for days down to this many weeks before the first day.
SHIFT_WEEKS = 200
BINS, INVOICES, PAID, OPEN = "week_end_bins", "week_end_invoices", "week_end_paid", "week_end_open"
HELD_INVOICES, HELD_PAID, HELD_OPEN = "week_end_held_invoices", "week_end_held_paid", "week_end_held_open"
TABLES = (BINS, INVOICES, PAID, OPEN, HELD_INVOICES, HELD_PAID, HELD_OPEN)
PARTS = ("bins", "open", "held")  # of the gathering (`gather`)
# Every currency a ledger can hold: the arrays' currency codes index this list.
CURRENCIES = sorted(CURRENCY_CODES)
CURRENCY_CODE = "array_position(%s, CAST(currency AS TEXT)) - 1"
# The columns read into arrays (each a bigint: spread_arrays.fetched), money in whole cents.
OWNERS = {"customer": "cid", "segment": f"COALESCE(sid, {NO_SEGMENT})", "currency": CURRENCY_CODE}
BIN_COLUMNS = {
    **OWNERS, "bin": "bin", "cents": "ROUND(amt * 100)", "cent_days": "ROUND(amt_days * 100)", "paid": "cnt",
    "k_in": "k_in", "k_out": "k_out",
}  # fmt: skip
OPEN_COLUMNS = {
    "invoice": "iid", **OWNERS, "due": "due", "cents": "ROUND(amt * 100)",
    "k_from": "k_from", "k_to": "k_to", "k_lo": "k_lo", "k_hi": "k_hi",
}  # fmt: skip
GROUP_ROW = "customer, seg, currency, wk, amount_all, amount, due, due_all"
LAST_WEEK = 10_000  # "and every week-end after"
# An open table's row `o` holds on week-end k (k given four times): its open step, within its window.
OPEN_ON_K = "o.k_from <= %s AND o.k_to >= %s AND o.k_lo <= %s AND o.k_hi >= %s"


def _weeks_up(days):
    """The first week-end k (counted from the first day) on or after a day `days` after the first one:
    the ceiling of days / 7, as an expression (exact for days >= -7 x SHIFT_WEEKS)."""
    return (days + Value(WEEK - 1 + WEEK * SHIFT_WEEKS)) / Value(WEEK) - Value(SHIFT_WEEKS)


@dataclass
class WeekEndSources:
    """What the forecasts of one run of week-ends (first, first + 7, ...) in one scope read: temporary
    tables on the connection that gathered them and, on PostgreSQL, arrays every thread reads."""

    first: date
    scope: LedgerScope
    last: date | None = None  # the last week-end gathered for (`of_days`)
    # PostgreSQL: the bins and the open steps as arrays (`gather`), each day's selected and summed per
    # key (customer, currency, bin) and (customer, currency, due week).
    bin_array: dict[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)
    open_array: dict[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)
    held_array: dict[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)
    bin_keys: spread_arrays.Keys | None = field(default=None, compare=False, repr=False)
    group_keys: spread_arrays.Keys | None = field(default=None, compare=False, repr=False)

    @classmethod
    def gathered(cls, days: list[date], scope: LedgerScope) -> WeekEndSources:
        """Read what the forecasts of these days (seven days apart) need, on this thread's connection to
        the primary (`alias`): every part of the gathering, one after the other."""
        sources = cls.of_days(days, scope)
        sources.drop()
        for part in PARTS:
            sources.gather(part)
        return sources

    @classmethod
    def of_days(cls, days: list[date], scope: LedgerScope) -> WeekEndSources:
        """The sources of these days (seven days apart), nothing gathered yet."""
        first = min(days)
        if any((day - first).days % WEEK for day in days):
            raise ValueError("The days of a run of week-ends are whole weeks apart.")
        return cls(first, scope, max(days))

    def gather(self, part: str) -> None:
        """One part of the gathering (PARTS), on this thread's connection: the days-late bins ("bins"),
        the open invoices' steps ("open") and those of the invoices an agreement or a complaint covers
        ("held", read on their own: `open_invoices`). On PostgreSQL each ends as arrays that every
        thread reads, so the parts can be gathered on connections side by side."""
        last = self.last
        if part == "bins" and self.exact_sums:
            bins_sql, bins_params = _sql(self._bins(last))
            rows = self.bin_array = self._fetched(bins_sql, bins_params, BIN_COLUMNS)
            self.bin_keys = spread_arrays.Keys(*self._widths(rows), LAST_LATE_BIN + 1)
            rows["key"] = self.bin_keys.of(rows["customer"], rows["currency"], rows["bin"])
        elif part == "bins":
            self._create(BINS, self._bins(last), analyse=False)  # read once per day, whole
        elif part == "open":
            self._create(INVOICES, self._invoices(last))
            self._create(PAID, self._paid())
            self._create(OPEN, self._open(INVOICES, PAID), analyse=not self.exact_sums)
            if self.exact_sums:
                rows = self.open_array = self._fetched(f"SELECT * FROM {OPEN}", (), OPEN_COLUMNS)
                group = (rows["due"] + DUE_WEEK_SHIFT) // WEEK
                self.group_keys = spread_arrays.Keys(*self._widths(rows), int(group.max(initial=0)) + 1)
                rows["key"] = self.group_keys.of(rows["customer"], rows["currency"], group)
        elif part == "held":
            self._create(HELD_INVOICES, self._invoices(last, held=True))
            self._create(HELD_PAID, self._paid(held=True))
            self._create(HELD_OPEN, self._open(HELD_INVOICES, HELD_PAID), analyse=not self.exact_sums)
            if self.exact_sums:
                self.held_array = self._fetched(f"SELECT * FROM {HELD_OPEN}", (), OPEN_COLUMNS)
        else:
            raise ValueError(f"No part {part!r} to gather.")

    def _fetched(self, sql: str, params: tuple, columns: dict[str, str]) -> dict[str, np.ndarray]:
        """The rows of `sql` as arrays (spread_arrays.fetched) of the `columns` (name: expression),
        each day's then selected and summed by numpy, and spread by it (reports/spread_arrays.py);
        `by_customer`: their order by customer (`_segments`)."""
        select = ", ".join(f"CAST({expression} AS BIGINT)" for expression in columns.values())
        with self.connection.cursor() as cursor:
            rows = f"SELECT {select} FROM ({sql}) s"
            found = spread_arrays.fetched(cursor, rows, (CURRENCIES, *params), tuple(columns))
        found["by_customer"] = np.argsort(found["customer"], kind="stable")
        return found

    @staticmethod
    def _widths(rows: dict[str, np.ndarray]) -> tuple[int, int]:
        """The customers' and currencies' widths of a key of these rows (spread_arrays.Keys)."""
        return int(rows["customer"].max(initial=0)) + 1, len(CURRENCIES)

    @property
    def alias(self) -> str:
        """The primary's: temporary tables need a writable database (a hot-standby replica refuses
        them even inside `reports.replica.reading_reports`), and the forecasts read them there."""
        return router.db_for_write(Invoice)

    @property
    def connection(self):
        return connections[self.alias]

    @property
    def exact_sums(self) -> bool:
        """Whether the gathered rows end as arrays of whole cents, each day's summed and spread by numpy
        (PostgreSQL, read by COPY's binary format). SQLite adds decimals as doubles, whose cents a
        sum can miss in the last digit (and a half in a mean then rounds the other way): there each
        day sums its rows and spreads them in SQL (the demo's small ledger)."""
        return self.connection.vendor == "postgresql"

    def _create(self, name: str, queryset: QuerySet | tuple[str, tuple], *, analyse: bool = True) -> None:
        sql, params = queryset if isinstance(queryset, tuple) else _sql(queryset)
        with self.connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE {name} AS {sql}", params)
            if analyse and self.connection.vendor == "postgresql":
                cursor.execute(f"ANALYZE {name}")  # autovacuum never analyses temporary tables

    def drop(self) -> None:
        with self.connection.cursor() as cursor:
            for name in TABLES:
                cursor.execute(f"DROP TABLE IF EXISTS {name}")

    def _days_after_first(self, field: str):
        return DaysBetween(F(field), Value(self.first))

    def _bins(self, last: date) -> QuerySet:
        received = self._days_after_first("payment__received_on")
        return received_bins(
            self.scope,
            after=self.first - timedelta(days=HISTORY_DAYS),
            through=last,
            k_in=Greatest(_weeks_up(received), Value(0)),
            # Past the run's last week-end every k_out reads the same: one group per bin for the money
            # that stays in every week-end's 12 months, so a day sums ~200k rows, not ~550k.
            k_out=Least(_weeks_up(received + Value(HISTORY_DAYS)), Value(self.week(last) + 1)),
        )

    def _invoices(self, last: date, *, held: bool = False) -> QuerySet:
        """The invoices the run can see open: due in the window of some day, or (`held`) any an
        agreement or a complaint covers, whatever their due date (the forecast takes those on their
        own: `open_invoices`)."""
        due = self._days_after_first("due_date")
        paid_since = Allocation.objects.filter(payment__received_on__gt=self.first).values("invoice_id")
        issued = _weeks_up(self._days_after_first("issue_date"))
        invoices = self.scope.filter(Invoice.objects.all()).filter(issue_date__lte=last)
        if held:
            invoices = invoices.filter(_covered("pk"))
            k_lo, k_hi = Greatest(issued, Value(0)), Value(LAST_WEEK)
        else:
            invoices = invoices.filter(
                due_date__gte=self.first - timedelta(days=HISTORY_DAYS),
                due_date__lte=last + timedelta(days=HORIZON_DAYS),
            )
            # Issued by the day, due at most a year before it and at most the horizon after it.
            k_lo = Greatest(issued, _weeks_up(due - Value(HORIZON_DAYS)), Value(0))
            k_hi = (due + Value(HISTORY_DAYS)) / Value(WEEK)
        seen = invoices.values(
            "currency",
            iid=F("pk"),
            cid=F("customer_id"),
            sid=F("customer__segment_id"),
            due=due,
            open_now=F("amount") - F("allocated_amount"),
            k_lo=k_lo,
            k_hi=k_hi,
        ).order_by()
        # Two parts, each through an index: open now (invoice_open_aging), and paid off since the first day.
        return seen.filter(allocated_amount__lt=F("amount")).union(
            seen.filter(allocated_amount__gte=F("amount"), pk__in=paid_since), all=True
        )

    def _paid(self, *, held: bool = False) -> QuerySet:
        """The allocations received after the first day per invoice and week; of the invoices an
        agreement or a complaint covers only (`held`)."""
        received = self._days_after_first("payment__received_on")
        allocations = Allocation.objects.filter(payment__received_on__gt=self.first)
        if held:
            allocations = allocations.filter(_covered("invoice_id"))
        return (
            allocations.values("invoice_id", kr=_weeks_up(received)).annotate(total=Sum("amount")).order_by()
        )

    def _open(self, invoices: str, paid: str) -> tuple[str, tuple]:
        """Each invoice's open amount as a step for each stretch of week-ends it holds (k_from <= k <=
        k_to): what is open now plus what was received after the stretch's first week-end. One row
        before its first receipt after the first day, one from each such receipt on; none once paid."""
        row = "i.iid, i.cid, i.sid, i.currency, i.due, i.k_lo, i.k_hi"
        sql = f"""WITH steps AS (
            SELECT invoice_id, kr, total,
                   SUM(total) OVER (PARTITION BY invoice_id ORDER BY kr DESC) AS from_here,
                   LEAD(kr) OVER (PARTITION BY invoice_id ORDER BY kr) AS next_kr,
                   ROW_NUMBER() OVER (PARTITION BY invoice_id ORDER BY kr) AS step
            FROM {paid} WHERE invoice_id IN (SELECT iid FROM {invoices})
        ), pieces AS (
            SELECT {row}, 0 AS k_from, {LAST_WEEK} AS k_to, i.open_now AS amt
            FROM {invoices} i WHERE NOT EXISTS (SELECT 1 FROM {paid} p WHERE p.invoice_id = i.iid)
            UNION ALL
            SELECT {row}, 0, s.kr - 1, i.open_now + s.from_here
            FROM {invoices} i JOIN steps s ON s.invoice_id = i.iid AND s.step = 1
            UNION ALL
            SELECT {row}, s.kr, COALESCE(s.next_kr - 1, {LAST_WEEK}), i.open_now + s.from_here - s.total
            FROM {invoices} i JOIN steps s ON s.invoice_id = i.iid
        )
        SELECT * FROM pieces WHERE amt > 0 AND k_from <= k_hi AND k_to >= k_lo AND k_from <= k_to"""
        return sql, ()

    def week(self, as_of: date) -> int:
        weeks, rest = divmod((as_of - self.first).days, WEEK)
        if rest or weeks < 0:
            raise ValueError(f"{as_of} is not a week-end of this run.")
        return weeks

    def bins(self, as_of: date) -> tuple[str, tuple]:
        """The day's bins, with the columns of lateness.live_bins (lateness.COLUMNS), `cents` and
        `late` (forecast.rated), summed from the gathered receipts (SQLite: see `exact_sums`)."""
        k = self.week(as_of)
        sql = f"""SELECT cid, sid, currency, bin, SUM(amt) AS amt, SUM(amt_days) AS amt_days,
               SUM(cnt) AS cnt
        FROM {BINS} WHERE k_in <= %s AND k_out > %s GROUP BY cid, sid, currency, bin"""
        return rated((sql, (k, k)))

    def groups(self, as_of: date, *, held: list) -> tuple[str, tuple]:
        """The CTE `grp` of forecast._spread_sql for the day (see forecast.grouped), summed from the
        day's open invoices (`moves`; SQLite: see `exact_sums`)."""
        return grouped(self.moves(as_of, held=held))

    def spread(self, as_of: date, *, held_ids: list[int], customer_ids: list[int]) -> list[tuple]:
        """forecast._spread_sql's rows for the day without the interval, from the arrays (PostgreSQL):
        reports/spread_arrays.py. `held_ids`: the invoices open on the day forecast on their own."""
        groups, bins = self.day_groups(as_of, held_ids=held_ids), self.day_bins(as_of)
        return spread_arrays.spread(groups, bins, CURRENCIES, customer_ids)

    def day_bins(self, as_of: date) -> spread_arrays.Bins:
        """The day's bins: the money received in its 12 months (k_in <= k < k_out) summed per customer,
        currency and bin."""
        k, rows = self.week(as_of), self.bin_array
        on = (rows["k_in"] <= k) & (rows["k_out"] > k)
        found, sums = spread_arrays.summed(
            rows["key"][on], *(rows[name][on] for name in ("cents", "cent_days", "paid"))
        )
        customer, currency, number = self.bin_keys.split(found)
        return spread_arrays.Bins(customer, _segments(rows, customer), currency, number, *sums)

    def day_groups(self, as_of: date, *, held_ids: list[int]) -> spread_arrays.Groups:
        """The day's groups (forecast.grouped): its open steps summed per customer, currency and due
        week, with their mean days to the due date from the day; the held invoices (`held_ids`) are
        taken out of the money spread (`cents`, `due`)."""
        k, rows = self.week(as_of), self.open_array
        on = _open_on(rows, k)
        cents = rows["cents"][on]
        cent_days = cents * (rows["due"][on] - WEEK * k)
        not_held = ~np.isin(rows["invoice"][on], np.array(held_ids, dtype=np.int64))
        found, (cents_all, days_all, cents_spread, days_spread) = spread_arrays.summed(
            rows["key"][on], cents, cent_days, cents * not_held, cent_days * not_held
        )
        customer, currency, group = self.group_keys.split(found)
        due = np.zeros(len(found), dtype=np.int64)
        some = cents_spread > 0
        due[some] = spread_arrays.rounded_mean(days_spread[some], cents_spread[some])
        return spread_arrays.Groups(
            customer, _segments(rows, customer), currency, group - k, cents_all, cents_spread,
            spread_arrays.rounded_mean(days_all, cents_all), due,
        )  # fmt: skip

    def bin_rows(self, as_of: date) -> list[tuple]:
        """The day's bins as the rows of `bins` (lateness.COLUMNS, cents, late), from the arrays on
        PostgreSQL."""
        if not self.exact_sums:
            return self._rows(*self.bins(as_of))
        bins = self.day_bins(as_of)
        late = spread_arrays.rounded_mean(bins.cent_days, np.maximum(bins.cents, 1))
        return [
            (cid, sid or None, CURRENCIES[c], b, decimal_cents(a), decimal_cents(d), n, a,
             m if a > 0 else None)
            for cid, sid, c, b, a, d, n, m in zip(*(column.tolist() for column in vars(bins).values()),
                                                  late.tolist(), strict=True)
        ]  # fmt: skip

    def group_rows(self, as_of: date, *, held: list) -> list[tuple]:
        """The day's groups as (customer, seg, currency, wk, amount_all, amount, due, due_all) rows of
        forecast.grouped, from the arrays on PostgreSQL (`held`: querysets of ids of invoices an
        agreement or a complaint covers)."""
        if not self.exact_sums:
            sql, params = self.groups(as_of, held=held)
            return self._rows(f"WITH {sql} SELECT {GROUP_ROW} FROM grp", params)
        held_ids = [invoice.pk for ids in held for invoice in self.open_invoices(as_of, ids)]
        groups = self.day_groups(as_of, held_ids=held_ids)
        return [
            (
                cid,
                seg,
                CURRENCIES[c],
                wk,
                decimal_cents(a_all),
                decimal_cents(a),
                due if a > 0 else None,
                due_all,
            )
            for cid, seg, c, wk, a_all, a, due_all, due in zip(
                *(column.tolist() for column in vars(groups).values()), strict=True
            )
        ]

    def _rows(self, sql: str, params) -> list[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def open_invoices(self, as_of: date, ids) -> list[OpenInvoice]:
        """forecast.open_invoices of these invoices (a queryset of ids of invoices an agreement or a
        complaint covers) on the day: those issued by it and open on it, with their open amount then.
        On PostgreSQL from the held invoices' arrays (the ids read by one query), so that a forecast
        reads no temporary table of another connection's."""
        k = self.week(as_of)
        if self.exact_sums:
            rows = self.held_array
            wanted = np.array([iid for iid, *_ in self._rows(*_sql(ids))], dtype=np.int64)
            found = np.flatnonzero(_open_on(rows, k) & np.isin(rows["invoice"], wanted))
            found = found[np.argsort(rows["invoice"][found], kind="stable")]
            columns = ("invoice", "customer", "segment", "currency", "due", "cents")
            return [
                OpenInvoice(
                    iid,
                    cid,
                    sid or None,
                    CURRENCIES[c],
                    self.first + timedelta(days=due),
                    decimal_cents(amount),
                )
                for iid, cid, sid, c, due, amount in zip(
                    *(rows[name][found].tolist() for name in columns), strict=True
                )
            ]
        ids_sql, ids_params = _sql(ids)
        sql = f"""SELECT o.iid, o.cid, o.sid, o.currency, o.due, o.amt FROM {HELD_OPEN} o
        WHERE {OPEN_ON_K} AND o.iid IN ({ids_sql})
        ORDER BY o.iid"""
        with self.connection.cursor() as cursor:
            cursor.execute(sql, (k, k, k, k, *ids_params))
            rows = cursor.fetchall()
        return [
            OpenInvoice(iid, cid, sid, currency, self.first + timedelta(days=due), cents(amt))
            for iid, cid, sid, currency, due, amt in rows
        ]

    def _is_held(self, held: list) -> tuple[str, list]:
        held_sql, held_params = [], []
        for ids in held:
            sql, params = _sql(ids)
            held_sql.append(f"o.iid IN ({sql})")
            held_params.extend(params)
        return " OR ".join(held_sql) or "1 = 0", held_params

    def moves(self, as_of: date, *, held: list) -> tuple[str, tuple]:
        """The CTE `moves` of forecast.grouped for the day (see forecast._moves): the invoices open
        on it with their open amount then. `held`: querysets of invoice ids forecast on their own."""
        k = self.week(as_of)
        is_held, held_params = self._is_held(held)
        sql = f"""moves AS (
        SELECT o.cid AS customer, o.sid AS segment, o.currency, o.due - %s AS off,
               CASE WHEN {is_held} THEN 1 ELSE 0 END AS held, o.amt
        FROM {OPEN} o WHERE {OPEN_ON_K}
    )"""
        return sql, (WEEK * k, *held_params, k, k, k, k)


def _covered(field: str) -> Q:
    """The invoice (`field`: its id) is one an agreement or a complaint covers."""
    covered = Agreement.invoices.through.objects.values("invoice_id")
    disputed = Complaint.invoices.through.objects.values("invoice_id")
    return Q(**{f"{field}__in": covered}) | Q(**{f"{field}__in": disputed})


def _open_on(rows: dict[str, np.ndarray], k: int) -> np.ndarray:
    """Which open steps hold on week-end k: OPEN_ON_K on the arrays."""
    return (rows["k_from"] <= k) & (rows["k_to"] >= k) & (rows["k_lo"] <= k) & (rows["k_hi"] >= k)


def _segments(rows: dict[str, np.ndarray], customers: np.ndarray) -> np.ndarray:
    """The segment (0 for none) of each of these customers, as the rows hold it."""
    order = rows["by_customer"]
    return rows["segment"][order[np.searchsorted(rows["customer"], customers, sorter=order)]]
