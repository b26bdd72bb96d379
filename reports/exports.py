"""CSV exports: the same figures as the dashboard, one row per currency (and group, day or customer).

Every export writes through `csv_writer`, which passes each cell through `spreadsheet_safe`: a
customer named `=HYPERLINK(...)` (names come in through the API and imports) must reach the
spreadsheet as text, not as a formula.
"""

import csv

from .analytics import effort_against_value
from .ledger import AGING_BUCKETS, LedgerScope, ledger_trend
from .worth_it import worth_it_ranking

# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """A text cell that a spreadsheet would run as a formula, prefixed with a quote so it shows as text.

    Only text is touched: numbers (a negative amount too) and dates stay what they are.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return value


def csv_writer(file, **options) -> "_SpreadsheetSafeWriter":
    """A `csv.writer` whose every cell passes through `spreadsheet_safe`: how the exports write CSV."""
    return _SpreadsheetSafeWriter(csv.writer(file, **options))


class _SpreadsheetSafeWriter:
    def __init__(self, writer):
        self._writer = writer

    def writerow(self, row):
        return self._writer.writerow([spreadsheet_safe(cell) for cell in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


FIGURE_COLUMNS = [
    "as_of", "currency", "receivables", *[key for key, *_ in AGING_BUCKETS], "overdue", "overdue_share",
    "opening_receivables", "credit_sales", "period_start", "period_days", "dso", "countback_dso", "best_dso",
    "add", "cei",
]  # fmt: skip


def _figure_row(figures) -> list:
    values = figures.as_dict()
    values.update(values.pop("aging"))
    return ["" if values.get(column) is None else values[column] for column in FIGURE_COLUMNS]


def write_figures(writer, *, as_of, period_months, currency=None, segment_id=None, collector_id=None) -> None:
    scope = LedgerScope(currency=currency, segment_id=segment_id, collector_id=collector_id)
    writer.writerow(FIGURE_COLUMNS)
    for figures in ledger_trend(as_of, scope=scope, period_months=period_months, points=1)[as_of]:
        writer.writerow(_figure_row(figures))


def write_trend(writer, *, as_of, period_months, currency=None, segment_id=None, collector_id=None) -> None:
    scope = LedgerScope(currency=currency, segment_id=segment_id, collector_id=collector_id)
    writer.writerow(FIGURE_COLUMNS)
    for rows in ledger_trend(as_of, scope=scope, period_months=period_months).values():
        for figures in rows:
            writer.writerow(_figure_row(figures))


def write_worth_it(
    writer, *, as_of, period_months, currency=None, segment_id=None, collector_id=None
) -> None:
    ranking = worth_it_ranking(
        today=as_of, currency=currency, segment_id=segment_id, collector_id=collector_id
    )
    names = [c.name for c in ranking[0][1].components] if ranking else []
    header = ["rank", "account_number", "customer", "currency", "score"]
    writer.writerow(header + [f"{name}_{part}" for name in names for part in ("value", "weight", "points")])
    for rank, (customer, worth_it) in enumerate(ranking, start=1):
        parts = [p for c in worth_it.components for p in (c.value, c.weight, c.points)]
        writer.writerow(
            [rank, customer.account_number, customer.name, customer.currency, worth_it.score, *parts]
        )


def write_effort(writer, *, as_of, period_months, currency=None, segment_id=None, collector_id=None) -> None:
    writer.writerow(["currency", "account_number", "customer", "minutes", "revenue_paid", "cost", "brings",
                     "costs_more_than_it_brings"])  # fmt: skip
    for summary in effort_against_value(
        today=as_of, currency=currency, segment_id=segment_id, collector_id=collector_id
    ):
        for row in summary.rows:
            flag = "yes" if row.costs_more_than_it_brings else "no"
            writer.writerow(
                [
                    summary.currency,
                    row.account_number,
                    row.name,
                    row.minutes,
                    row.revenue,
                    row.cost,
                    row.brings,
                    flag,
                ]
            )
