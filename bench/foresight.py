"""Benchmark: the 13-week forecast and its 26-week backtest on DATABASE_URL, with a SQL floor, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_big python -m bench foresight

Prints medians; asserts nothing. The floor is the plainest read of what the forecast spreads: the open
amount per currency (`SELECT currency, SUM(amount - allocated_amount) ... GROUP BY currency` over the
open invoices). The forecast is timed with its days-late bins and spreads computed live (any past day)
and read from the kept tables (today, after the nightly rebuild, which is timed too); the backtest with
BENCH_FORESIGHT_ORIGINS week-ends (default 26) twice: cold (no week-end's forecast kept) and warm
(every one kept by the cold run). The kept bins and spreads it writes are rolled back. The cold backtest
runs outside any transaction, as the Celery task runs it (its forecasts made side by side on their own
connections, reports/backtest.py), and keeps the week-end forecasts it makes, as the task does: a cache
equal to what any later run computes. It is timed on one connection too, in the same run, keeping nothing.
BENCH_AS_OF (YYYY-MM-DD) sets the day, else today.
"""

import os
from datetime import date

from bench.reports import _timed  # the median of a few runs, as every benchmark here times

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
ORIGINS = int(os.environ.get("BENCH_FORESIGHT_ORIGINS", "26"))


def _floor() -> list:
    from django.db import connection

    from invoices.choices import CLOSED_STATUSES
    from invoices.models import Invoice

    table = Invoice._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT currency, SUM(amount - allocated_amount) FROM {table} "
            f"WHERE allocated_amount < amount AND status NOT IN ({', '.join(['%s'] * len(CLOSED_STATUSES))}) "
            "GROUP BY currency ORDER BY currency",
            [str(status) for status in CLOSED_STATUSES],
        )
        return cursor.fetchall()


def _load() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


def _wapes(tested) -> dict:
    return {result.currency: (result.wape, result.naive_wape) for result in tested}


def _figures(tested) -> list:
    return [(r.currency, [(o.as_of, o.forecast, o.naive, o.actual) for o in r.origins]) for r in tested]


def measure(*, as_of: date, runs: int = RUNS, origins: int = ORIGINS) -> dict:
    """The timings (seconds) and totals of one run; the kept bins and spreads it writes are rolled back."""
    from django.conf import settings
    from django.db import transaction

    from reports.backtest import backtest
    from reports.forecast import forecast, kept_spreads
    from reports.lateness import kept_bins, refresh_lateness
    from reports.ledger import LedgerScope
    from reports.models import ForecastSpread, KeptForecast, LatenessBin
    from reports.spreads import refresh_spreads

    found: dict = {"load_before": _load()}
    found["floor_s"], open_rows = _timed(_floor, runs)
    found["open_by_currency"] = {currency: amount for currency, amount in open_rows}
    with transaction.atomic():
        # Whatever is kept, the first timing computes the bins and spreads live (as on any past day).
        LatenessBin.objects.all().delete()
        ForecastSpread.objects.all().delete()
        found["forecast_live_s"], live = _timed(lambda: forecast(as_of=as_of), runs)
        found["rebuild_bins_s"], found["bins"] = _timed(lambda: refresh_lateness(as_of=as_of), 1)
        found["rebuild_spreads_s"], found["spreads"] = _timed(lambda: refresh_spreads(as_of=as_of), 1)
        found["kept_read"] = (
            kept_bins(as_of, LedgerScope()) is not None and kept_spreads(as_of, LedgerScope()) is not None
        )
        found["forecast_kept_s"], kept = _timed(lambda: forecast(as_of=as_of), runs)
        found["same_figures"] = [(f.currency, f.weeks) for f in live] == [(f.currency, f.weeks) for f in kept]
        found["forecast_total"] = {f.currency: f.total for f in kept}
        found["forecast_open"] = {f.currency: f.open_amount for f in kept}
        transaction.set_rollback(True)
    KeptForecast.objects.all().delete()  # cold: every week-end's forecast made (side by side) and kept
    found["connections"] = settings.REPORTS_BACKTEST_CONNECTIONS
    found["backtest_s"], tested = _timed(lambda: backtest(as_of=as_of, origins=origins), 1)
    # warm: every week-end's forecast read back (what the nightly run does after the first)
    found["backtest_warm_s"], warm = _timed(lambda: backtest(as_of=as_of, origins=origins), 1)
    # The same backtest on one connection, keeping nothing: the figure before the side-by-side change.
    connections, settings.REPORTS_BACKTEST_CONNECTIONS = settings.REPORTS_BACKTEST_CONNECTIONS, 1
    try:
        found["backtest_one_s"], one = _timed(lambda: backtest(as_of=as_of, origins=origins, keep=False), 1)
    finally:
        settings.REPORTS_BACKTEST_CONNECTIONS = connections
    found["same_backtest"] = _figures(warm) == _figures(tested) == _figures(one)
    found["origins"] = origins
    found["wape"] = _wapes(tested)
    found["load_after"] = _load()
    return found


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditdesk.settings")
    django.setup()
    from django.db import connection
    from django.utils import timezone

    from invoices.models import Invoice

    as_of = (
        date.fromisoformat(os.environ["BENCH_AS_OF"])
        if os.environ.get("BENCH_AS_OF")
        else timezone.localdate()
    )
    print(
        f"database: {connection.settings_dict['NAME']}; {Invoice.objects.count():,} invoices; as of {as_of}"
    )
    found = measure(as_of=as_of)
    print(f"load average before: {found['load_before']}")
    print(f"SQL floor, open amount per currency:        median {found['floor_s']:8.3f} s over {RUNS} runs")
    live, kept = found["forecast_live_s"], found["forecast_kept_s"]
    print(f"forecast, bins and spreads computed live:   median {live:8.3f} s over {RUNS} runs")
    print(f"rebuild of the kept bins ({found['bins']:,} rows):  {found['rebuild_bins_s']:8.3f} s")
    print(f"rebuild of the kept spreads ({found['spreads']:,} rows):  {found['rebuild_spreads_s']:8.3f} s")
    read = found["kept_read"]
    print(f"forecast, kept bins and spreads (read: {read}): median {kept:8.3f} s over {RUNS} runs")
    print(f"same figures live and kept: {'yes' if found['same_figures'] else 'NO'}")
    n = found["connections"]
    print(f"backtest, {found['origins']} week-ends, cold, {n} connections: {found['backtest_s']:8.3f} s")
    print(f"backtest, {found['origins']} week-ends, cold, 1 connection:  {found['backtest_one_s']:8.3f} s")
    print(f"backtest, {found['origins']} week-ends, kept (warm):       {found['backtest_warm_s']:8.3f} s")
    print(f"same backtest cold, warm and on one connection: {'yes' if found['same_backtest'] else 'NO'}")
    print(f"load average after: {found['load_after']}")
    for currency, total in sorted(found["forecast_total"].items()):
        forecast_wape, naive_wape = found["wape"].get(currency, (None, None))
        print(
            f"  {currency}: open {found['forecast_open'][currency]:,} expected in 13 weeks {total:,}; "
            f"backtest WAPE {forecast_wape}% (naive {naive_wape}%)"
        )
