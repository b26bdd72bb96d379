"""The backtest's spreading as arrays: forecast._spread_sql's figures for one day, worked out by numpy.

A cold backtest spreads 26 week-ends, each ~70k groups joined to their ~5 bins: ~370k (group, bin)
rows a day, ~10M in all, which PostgreSQL works through at ~3 microseconds a row (most of the
backtest's time). The same arithmetic on arrays takes a few milliseconds a day. The figures are the
statement's own, to the millionth:
- money is whole cents in int64 and sums of int64 are exact, as PostgreSQL's numeric sums are;
- a mean (days late of a bin, days to the due date of a group) is rounded from the exact quotient of
  two integers, halves to even (`rounded_mean`), as forecast.rounded_mean_sql rounds it;
- a row's part is the same IEEE double operations in the same order as forecast._micro_sql (a group's
  amount as a double is cents / 100, the correctly rounded double PostgreSQL's cast gives too), rounded
  half to even as PostgreSQL's round(double precision) does, then summed as integers.
tests/reports/test_week_end_sources.py holds the backtest's forecasts equal to each day's own forecast
(the SQL) on random ledgers.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from .expressions import decimal_cents
from .forecast import MICROS, MIN_PAID_INVOICES, WEEKS

ONE_MICRO = Decimal(1).scaleb(-6)
COPY_HEADER_BYTES = 19  # signature (11), flags (4), header extension length (4): no extension


def fetched(cursor, sql: str, params: tuple, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """A query's rows as one int64 array per column, through COPY's binary format: each row is a field
    count and, per column, a length and eight bytes, so the whole reply is one record array (no Python
    object per value). Every column must be a non-null bigint."""
    record = np.dtype(
        [("fields", ">i2")] + [item for name in columns for item in ((f"{name}_len", ">i4"), (name, ">i8"))]
    )
    buffer = io.BytesIO()
    statement = cursor.mogrify(sql, params).decode()
    cursor.copy_expert(f"COPY ({statement}) TO STDOUT WITH (FORMAT binary)", buffer)
    data = buffer.getvalue()
    count, rest = divmod(len(data) - COPY_HEADER_BYTES - 2, record.itemsize)  # 2: the trailer
    rows = np.frombuffer(data, dtype=record, count=count, offset=COPY_HEADER_BYTES)
    fields_as_told = (rows["fields"] == len(columns)).all() and all(
        (rows[f"{name}_len"] == 8).all() for name in columns
    )
    if rest or not fields_as_told:  # a NULL has no eight bytes; another type, not eight
        raise ValueError("Every column read into arrays must be a non-null bigint.")
    return {name: rows[name].astype(np.int64) for name in columns}


def rounded_mean(weighted: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """weighted / weight (weight > 0) to a whole number, halves to the even one, exactly."""
    quotient, rest = np.divmod(weighted, weight)
    twice = 2 * rest
    return quotient + ((twice > weight) | ((twice == weight) & (quotient & 1 == 1)))


def week_of(days: np.ndarray) -> np.ndarray:
    """forecast.week_of: 1 for a day up to seven days after the as-of day (and any before it)."""
    return np.where(days < 1, 1, (days + 6) // 7)


def summed(keys: np.ndarray, *values: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The distinct keys (sorted) and each value summed per key, in int64."""
    distinct, inverse = np.unique(keys, return_inverse=True)
    sums = []
    for value in values:
        total = np.zeros(len(distinct), dtype=np.int64)
        np.add.at(total, inverse, value)
        sums.append(total)
    return distinct, sums


@dataclass
class Bins:
    """A day's days-late bins per customer (lateness.COLUMNS): money in cents, amount x days in cents."""

    customer: np.ndarray
    segment: np.ndarray  # forecast.NO_SEGMENT for none
    currency: np.ndarray  # an index into the run's currencies
    bin: np.ndarray
    cents: np.ndarray
    cent_days: np.ndarray
    paid: np.ndarray


@dataclass
class Groups:
    """A day's groups (forecast.grouped): open cents in all and not held, and their rounded mean days to
    the due date (`due` only where `cents` > 0)."""

    customer: np.ndarray
    segment: np.ndarray
    currency: np.ndarray
    due_week: np.ndarray
    cents_all: np.ndarray
    cents: np.ndarray
    due_all: np.ndarray
    due: np.ndarray


class Keys:
    """Whole-number keys of several small non-negative columns, mixed by radix (one np.unique each)."""

    def __init__(self, *widths: int):
        self.widths = widths

    def of(self, *columns: np.ndarray) -> np.ndarray:
        key = np.zeros(len(columns[0]), dtype=np.int64)
        for width, column in zip(self.widths, columns, strict=True):
            key = key * width + column
        return key

    def split(self, key: np.ndarray) -> list[np.ndarray]:
        parts = []
        for width in reversed(self.widths):
            key, part = np.divmod(key, width)
            parts.append(part)
        return parts[::-1]


def spread(groups: Groups, bins: Bins, currencies: list[str], customer_ids: list[int]) -> list[tuple]:
    """forecast._spread_sql's rows without the interval (kind, currency, week, key, first, second,
    third): expected micro-units per currency and week, the naive and open money, and the bins of the
    wanted customers, the segments and the currencies, as Decimals."""
    ids = np.concatenate([bins.customer, bins.segment, groups.customer, groups.segment])
    distributions = _Distributions(bins, len(currencies), owners=int(ids.max(initial=0)) + 1)
    return [
        *_expected(groups, distributions, currencies),
        *_naive_and_open(groups, currencies),
        *distributions.rows(currencies, customer_ids),
    ]


class _Distributions:
    """A day's distributions of days late: each customer's bins, summed per segment and per currency,
    the invoices each customer and segment paid, and every bin with money under the key of its
    distribution (level 0: a customer's, 1: a segment's, 2: a currency's; its owner; its currency)."""

    def __init__(self, bins: Bins, n_currencies: int, *, owners: int):
        self.bins = bins
        n_bins = int(bins.bin.max(initial=0)) + 1
        self.by_owner = Keys(owners, n_currencies)
        self.customer_keys, (self.customer_paid,) = summed(
            self.by_owner.of(bins.customer, bins.currency), bins.paid
        )
        by_segment_bin = Keys(owners, n_currencies, n_bins)
        keys, self.segment_sums = summed(
            by_segment_bin.of(bins.segment, bins.currency, bins.bin), bins.cents, bins.cent_days, bins.paid
        )
        self.segment_bins = by_segment_bin.split(keys)  # segment, currency, bin
        segment, currency, number = self.segment_bins
        self.segment_keys, (self.segment_paid,) = summed(
            self.by_owner.of(segment, currency), self.segment_sums[2]
        )
        by_currency_bin = Keys(n_currencies, n_bins)
        keys, self.currency_sums = summed(by_currency_bin.of(currency, number), *self.segment_sums)
        self.currency_bins = by_currency_bin.split(keys)  # currency, bin
        self.by_dist = Keys(3, owners, n_currencies)
        self._sorted_bins()

    def _sorted_bins(self) -> None:
        bins, (segment, seg_currency, _), (cur_currency, _) = self.bins, self.segment_bins, self.currency_bins
        sizes = (len(bins.customer), len(segment), len(cur_currency))
        levels = np.repeat(np.arange(3, dtype=np.int64), sizes)
        owners = np.concatenate([bins.customer, segment, np.zeros(sizes[2], np.int64)])
        currency = np.concatenate([bins.currency, seg_currency, cur_currency])
        cents = np.concatenate([bins.cents, self.segment_sums[0], self.currency_sums[0]])
        cent_days = np.concatenate([bins.cent_days, self.segment_sums[1], self.currency_sums[1]])
        with_money = cents > 0
        key = self.by_dist.of(levels, owners, currency)[with_money]
        order = np.argsort(key, kind="stable")
        self.key = key[order]
        self.cents = cents[with_money][order]
        self.late = rounded_mean(cent_days[with_money][order], self.cents)

    def level(self, customer: np.ndarray, segment: np.ndarray, currency: np.ndarray) -> np.ndarray:
        """0 for a customer with MIN_PAID_INVOICES paid, else 1 for its segment's so, else 2."""
        own = _looked_up(self.customer_keys, self.customer_paid, self.by_owner.of(customer, currency))
        seg = _looked_up(self.segment_keys, self.segment_paid, self.by_owner.of(segment, currency))
        return np.where(own >= MIN_PAID_INVOICES, 0, np.where(seg >= MIN_PAID_INVOICES, 1, 2))

    def rows(self, currencies: list[str], customer_ids: list[int]) -> list[tuple]:
        bins = self.bins
        wanted = np.isin(bins.customer, np.array(customer_ids, dtype=np.int64))
        segment, seg_currency, seg_bin = self.segment_bins
        cur_currency, cur_bin = self.currency_bins
        return [
            *_bin_rows("customer", currencies, bins.currency[wanted], bins.bin[wanted], bins.customer[wanted],
                       bins.cents[wanted], bins.cent_days[wanted], bins.paid[wanted]),
            *_bin_rows("segment", currencies, seg_currency, seg_bin, segment, *self.segment_sums),
            *_bin_rows("currency", currencies, cur_currency, cur_bin, None, *self.currency_sums),
        ]  # fmt: skip


def _looked_up(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """values[i] where keys[i] is each wanted key (keys sorted), 0 for a key not there."""
    if not len(keys):
        return np.zeros(len(wanted), dtype=np.int64)
    at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return np.where(keys[at] == wanted, values[at], 0)


def _expected(groups: Groups, distributions: _Distributions, currencies: list[str]) -> list[tuple]:
    """The expected micro-units per currency and week: each group with money not held joined to the bins
    of its distribution, cut where it would have been paid by the day, each row's part of the group
    rounded to a micro-unit (forecast._micro_sql) and summed."""
    spreadable = groups.cents > 0
    customer, segment = groups.customer[spreadable], groups.segment[spreadable]
    currency, cents, due = groups.currency[spreadable], groups.cents[spreadable], groups.due[spreadable]
    level = distributions.level(customer, segment, currency)
    owner = np.where(level == 0, customer, np.where(level == 1, segment, 0))
    key = distributions.by_dist.of(level, owner, currency)
    starts = np.searchsorted(distributions.key, key, "left")
    counts = np.searchsorted(distributions.key, key, "right") - starts
    # One row per (group, bin of its distribution).
    row_group = np.repeat(np.arange(len(key)), counts)
    row_bin = starts[row_group] + np.arange(len(row_group)) - (np.cumsum(counts) - counts)[row_group]
    days = due[row_group] + distributions.late[row_bin]
    possible = days >= 1
    row_group, row_cents, days = row_group[possible], distributions.cents[row_bin[possible]], days[possible]
    total = np.zeros(len(key), dtype=np.int64)
    np.add.at(total, row_group, row_cents)
    week = (days + 6) // 7
    in_horizon = week <= WEEKS
    row_group, row_cents, week = row_group[in_horizon], row_cents[in_horizon], week[in_horizon]
    amount = cents.astype(np.float64) / 100
    micro = np.rint(
        amount[row_group] * row_cents.astype(np.float64) / total[row_group].astype(np.float64) * MICROS
    ).astype(np.int64)
    by_week = Keys(len(currencies), WEEKS + 1)
    keys, (micros,) = summed(by_week.of(currency[row_group], week), micro)
    return [
        ("invoices", currencies[c], w, None, Decimal(m) * ONE_MICRO, Decimal(0), None)
        for c, w, m in zip(*(part.tolist() for part in by_week.split(keys)), micros.tolist(), strict=True)
    ]


def _naive_and_open(groups: Groups, currencies: list[str]) -> list[tuple]:
    """Every open cent on its due date (those already due in week 1), and the open cents per currency."""
    naive_week = week_of(groups.due_all)
    by_week = Keys(len(currencies), int(naive_week.max(initial=1)) + 1)
    keys, (naive,) = summed(by_week.of(groups.currency, naive_week), groups.cents_all)
    open_keys, (open_cents,) = summed(groups.currency, groups.cents_all)
    currency, weeks = (part.tolist() for part in by_week.split(keys))
    return [
        *(("naive", currencies[c], w, None, decimal_cents(n), None, None)
          for c, w, n in zip(currency, weeks, naive.tolist(), strict=True)),
        *(("open", currencies[c], None, None, decimal_cents(n), None, None)
          for c, n in zip(open_keys.tolist(), open_cents.tolist(), strict=True)),
    ]  # fmt: skip


def _bin_rows(kind, currencies, currency, number, owner, cents, cent_days, paid) -> list[tuple]:
    owners = [None] * len(currency) if owner is None else owner.tolist()
    return [
        (kind, currencies[c], b, o, decimal_cents(a), decimal_cents(d), p)
        for c, b, o, a, d, p in zip(
            currency.tolist(),
            number.tolist(),
            owners,
            cents.tolist(),
            cent_days.tolist(),
            paid.tolist(),
            strict=True,
        )  # fmt: skip
    ]
