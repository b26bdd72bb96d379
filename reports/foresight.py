"""What the dashboard, the PDF and the CSV show of the forecast, its backtest and the early warnings:
charts drawn on the server (reports/charts.py shapes) and the sections' contexts.

The backtest makes 26 forecasts, too slow for a request on a large ledger: the section and the API read
the result kept in the cache for the ledger version (reports/sections.py), filled by the Celery task
`reports.tasks.refresh_backtest` (queued by the first request that misses it, and nightly). Below
the cache, each week-end's forecast is kept in `KeptForecast` until a back-dated write deletes it
(reports/backtest.py), so the nightly run makes only the newest week-end's.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.cache import cache

from . import charts
from .backtest import CurrencyBacktest, backtest
from .early_warning import kept_warnings
from .forecast import FORECAST_DEFINITIONS, CurrencyForecast, forecast
from .ledger import LedgerScope

BAND_COLOUR = "#b9d3f5"
FORESIGHT_DEFINITIONS = {
    **FORECAST_DEFINITIONS,
    "early_warning": (
        "Customers paying later than usual (days late over 3 months against the 9 before), with a first "
        "broken promise or a first cash-flow excuse after a clean year, or with more open than usual "
        "(rising, and at least 5,000 and a quarter above the 90th percentile of its last 12 month "
        "ends). Refreshed nightly and on each change."
    ),
}
ZERO = Decimal("0")


def scope_of(filters: dict) -> LedgerScope:
    return LedgerScope(
        currency=filters.get("currency"),
        segment_id=filters.get("segment_id"),
        collector_id=filters.get("collector_id"),
    )


def forecast_chart(made: CurrencyForecast, *, width: int = 520, height: int = 240) -> charts.Chart:
    """The 13 weeks: the 10th-90th percentile as a floating bar, the expected receipts as a line and
    the naive forecast dashed."""
    left, top, right, bottom = 70, 14, width - 12, height - 34
    chart = charts.Chart(width, height, plot=(left, top, right, bottom))
    largest = max([w.high for w in made.weeks] + [w.naive for w in made.weeks] + [ZERO]) or Decimal("1")
    slot = (right - left) / len(made.weeks)

    def y_of(value: Decimal) -> float:
        return round(bottom - float(value / largest) * (bottom - top), 1)

    expected, naive = [], []
    for index, week in enumerate(made.weeks):
        centre = round(left + slot * (index + 0.5), 1)
        low, high = y_of(week.low), y_of(week.high)
        chart.bars.append(
            charts.Bar("10th-90th percentile", week.expected, round(centre - slot * 0.3, 1), high,
                       round(slot * 0.6, 1), round(low - high, 1), BAND_COLOUR,
                       f"week {week.week}: {week.low:,.2f} to {week.high:,.2f}")
        )  # fmt: skip
        expected.append((centre, y_of(week.expected), f"Week {week.week} expected: {week.expected:,.2f}"))
        naive.append((centre, y_of(week.naive), f"Week {week.week} naive: {week.naive:,.2f}"))
        chart.x_labels.append((centre, f"W{week.week}"))
    for label, colour, dots, dashed in (
        ("Expected", charts.PALETTE[0], expected, False),
        ("Naive: paid on the due date", charts.PALETTE[2], naive, True),
    ):
        chart.lines.append(charts.Line(label, colour, " ".join(f"{x},{y}" for x, y, _ in dots), dots, dashed))
    chart.legend = [(BAND_COLOUR, "10th-90th percentile"), (charts.PALETTE[0], "Expected"),
                    (charts.PALETTE[2], "Naive: paid on the due date")]  # fmt: skip
    chart.y_labels = charts._y_ticks(largest, top, bottom, money=True)
    return chart


def backtest_chart(result: CurrencyBacktest) -> charts.Chart:
    """Per week-end: the actual receipts of the week after it, and what the forecast and the naive
    forecast made on that day expected for it."""
    origins = [origin for origin in result.origins if origin.actual]
    return charts.line_chart(
        [origin.as_of.strftime("%-d %b") for origin in origins],
        [
            ("Received in the next week", [origin.actual[0] for origin in origins], False),
            ("Forecast", [origin.forecast[0] for origin in origins], False),
            ("Naive", [origin.naive[0] for origin in origins], True),
        ],
    )


def forecast_context(filters: dict) -> dict:
    made = forecast(as_of=filters["as_of"], scope=scope_of(filters))
    return {"currencies": [{"forecast": row, "chart": forecast_chart(row)} for row in made]}


# The backtest looks back half a year: a write today moves its last weeks a little at most, so it is
# kept per (day, filters) for a day rather than per ledger version (which every write replaces).
BACKTEST_KEY = "reports:backtest"
BACKTEST_SECONDS = 24 * 60 * 60
QUEUED_SECONDS = 15 * 60
FILTER_KEYS = ("currency", "segment_id", "collector_id")


def backtest_key(filters: dict) -> str:
    described = "|".join(f"{key}={filters.get(key)}" for key in ("as_of", *FILTER_KEYS))
    return f"{BACKTEST_KEY}:{described}"


def kept_backtest(filters: dict) -> list[CurrencyBacktest] | None:
    """The backtest for these filters: computed here when nothing can be cached (no shared cache, as
    in tests), else read from the cache, or None after queueing the task that fills it (once)."""
    if not settings.REPORTS_CACHE_SECONDS:
        return backtest(as_of=filters["as_of"], scope=scope_of(filters))
    key = backtest_key(filters)
    found = cache.get(key)
    if found is None and cache.add(f"{key}:queued", True, QUEUED_SECONDS):
        from .tasks import refresh_backtest  # tasks import this module

        refresh_backtest.delay(as_of=filters["as_of"].isoformat(), **{k: filters.get(k) for k in FILTER_KEYS})
    return found


def fill_backtest(filters: dict) -> list[CurrencyBacktest]:
    """Compute the backtest and keep it for a day."""
    result = backtest(as_of=filters["as_of"], scope=scope_of(filters))
    cache.set(backtest_key(filters), result, BACKTEST_SECONDS)
    cache.delete(f"{backtest_key(filters)}:queued")
    return result


def backtest_context(filters: dict) -> dict:
    results = kept_backtest(filters)
    if results is None:
        return {"pending": True, "currencies": []}
    return {"currencies": [{"backtest": row, "chart": backtest_chart(row)} for row in results]}


EARLY_WARNING_ROWS = 100


def early_warning_context(filters: dict) -> dict:
    rows = kept_warnings(**{key: filters.get(key) for key in FILTER_KEYS})
    return {
        "warnings": list(rows[:EARLY_WARNING_ROWS]),
        "warning_count": rows.count(),
        "limit": EARLY_WARNING_ROWS,
    }


# --- CSV (reports/views.export_csv) ---------------------------------------------------------------------


def write_forecast(writer, *, as_of, period_months=None, **filters) -> None:
    """One row per currency and week: expected, interval, sources, naive."""
    writer.writerow(["as_of", "currency", "week", "starts", "ends", "expected", "low_10", "high_90",
                     "from_invoices", "from_agreements", "from_disputes", "naive"])  # fmt: skip
    for made in forecast(as_of=as_of, scope=scope_of(filters)):
        for w in made.weeks:
            writer.writerow([as_of, made.currency, w.week, w.starts, w.ends, w.expected, w.low, w.high,
                             w.from_invoices, w.from_agreements, w.from_disputes, w.naive])  # fmt: skip


def write_backtest(writer, *, as_of, period_months=None, **filters) -> None:
    """One row per currency, week-end and week compared: forecast, naive, actual receipts."""
    writer.writerow(["currency", "week_end", "week", "forecast", "naive", "actual"])
    for result in backtest(as_of=as_of, scope=scope_of(filters)):
        for origin in result.origins:
            for number, values in enumerate(
                zip(origin.forecast, origin.naive, origin.actual, strict=True), 1
            ):
                writer.writerow([result.currency, origin.as_of, number, *values])


def write_early_warnings(writer, *, as_of=None, period_months=None, **filters) -> None:
    writer.writerow(
        ["account_number", "name", "currency", "as_of", "reasons", "open_amount", "usual_open_amount"]
    )
    for row in kept_warnings(**{key: filters.get(key) for key in FILTER_KEYS}):
        writer.writerow([row.customer.account_number, row.customer.name, row.customer.currency, row.as_of,
                         "; ".join(row.reasons), row.open_amount, row.usual_open_amount])  # fmt: skip


def pdf_context(filters: dict) -> dict:
    """The forecast, the backtest (when kept) and the early warnings for the PDF report."""
    backtest_part = backtest_context(filters)
    return {
        "forecast_currencies": forecast_context(filters)["currencies"],
        "backtest_currencies": backtest_part["currencies"],
        "backtest_pending": backtest_part.get("pending", False),
        **early_warning_context(filters),
    }
