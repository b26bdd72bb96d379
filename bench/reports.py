"""Benchmark: the aging + DSO report on a large ledger against a hand-written SQL floor, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_big python -m bench reports

Read-only. Prints the median of a few runs of each; asserts nothing. The floor is one SQL statement
computing the same aging buckets, receivables and credit sales per currency (open amounts from a
per-invoice join of allocations); the report is `reports.selectors.ledger_figures` (three queries:
invoice totals, allocation totals, monthly sales) plus the figures computed from them.
"""

import os
import statistics
import time
from datetime import date
from decimal import Decimal

RUNS = int(os.environ.get("BENCH_RUNS", "5"))


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditdesk.settings")
    django.setup()
    from django.db import connection
    from django.utils import timezone

    from invoices.models import Invoice

    invoices = Invoice.objects.count()
    # The day the figures are for: BENCH_AS_OF (YYYY-MM-DD), else today.
    as_of = (
        date.fromisoformat(os.environ["BENCH_AS_OF"])
        if os.environ.get("BENCH_AS_OF")
        else timezone.localdate()
    )
    database = f"{connection.vendor} {connection.settings_dict['NAME']}"
    print(f"database: {database}; {invoices:,} invoices; as of {as_of}")
    measured = aging_vs_floor(as_of)
    report, joined, flat, figures = (
        measured[k] for k in ("report_s", "join_floor_s", "flat_floor_s", "figures")
    )
    print(f"aging + DSO report (ledger_figures):        median {report:8.3f} s over {RUNS} runs")
    print(f"SQL floor, open amount per invoice (join):  median {joined:8.3f} s over {RUNS} runs")
    print(f"SQL floor, flat conditional sums:           median {flat:8.3f} s over {RUNS} runs")
    print(f"report / best floor: {measured['ratio']:.2f}x" if measured["floor_s"] else "floor took no time")
    for name in ("join", "flat"):
        print(
            f"same buckets and credit sales as the {name} floor: "
            f"{'yes' if measured['same_as'][name] else 'NO'}"
        )
    for currency in sorted(figures)[:3]:
        f = figures[currency]
        dso = f"dso {f['dso']} countback {f['countback']} cei {f['cei']}"
        print(f"  {currency}: receivables {f['receivables']:,} {dso}")
    trend, _ = _timed(lambda: _trend(as_of), runs=max(1, RUNS // 2))
    print(f"12-month trend (ledger_trend, 15 days):     median {trend:8.3f} s")
    # The worth-it score keeps a revenue snapshot; roll it back so the big database stays untouched.
    from django.db import transaction

    with transaction.atomic():
        cold, _ = _timed(lambda: _worth_it_page(as_of), runs=1)
        warm, _ = _timed(lambda: _worth_it_page(as_of))
        transaction.set_rollback(True)
    print(f"worth-it scores, page of 50, first call:    {cold:8.3f} s (rebuilds the revenue scale)")
    print(f"worth-it scores, page of 50, then:          median {warm:8.3f} s")
    print_sections(time_sections(as_of_days=(as_of, date.fromisoformat(SECTIONS_PAST_DAY))))


# --- The dashboard's sections, in process ---------------------------------------------------------------

# The past day the issue names besides today, and how often each section is timed (the figure is the
# worst of them: with 5 runs the p95 is the maximum).
SECTIONS_PAST_DAY = os.environ.get("BENCH_SECTIONS_PAST_DAY", "2026-06-30")
SECTIONS_RUNS = int(os.environ.get("BENCH_SECTIONS_RUNS", "3"))


def time_sections(
    *, as_of_days, runs: int = SECTIONS_RUNS, username: str | None = None, names=None
) -> list[dict]:
    """Each dashboard section's view through Django's test Client as a finance lead (cache off), for
    each day, with and without a segment filter (the first segment): status, median and worst seconds,
    queries. The headline is the dashboard page itself (`/reports/`)."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    from customers.access import Role
    from customers.models import Segment
    from reports.sections import SECTIONS, UNCACHED

    users = get_user_model().objects.filter(groups__name=Role.FINANCE_LEAD.label).order_by("pk")
    user = users.get(username=username) if username else users.first()
    segment = Segment.objects.order_by("pk").first()
    client = Client()
    client.force_login(user)
    paths = {"headline": "/reports/"} | {
        name: f"/reports/section/{name}/" for name in SECTIONS if name not in UNCACHED
    }
    paths = {name: path for name, path in paths.items() if names is None or name in names}
    rows = []
    with override_settings(REPORTS_CACHE_SECONDS=0):
        # One untimed request first: the process's first one loads templates and opens the connection.
        client.get(paths["headline"], secure=True)
        for day in as_of_days:
            for segment_id in (None, *([segment.pk] if segment else [])):
                query = f"?as_of={day.isoformat()}" + (f"&segment={segment_id}" if segment_id else "")
                for name, path in paths.items():
                    times, statuses = [], set()
                    for _ in range(runs):
                        started = time.perf_counter()
                        response = client.get(path + query, secure=True, HTTP_HX_REQUEST="true")
                        times.append(time.perf_counter() - started)
                        statuses.add(response.status_code)
                    with CaptureQueriesContext(connection) as queries:
                        client.get(path + query, secure=True, HTTP_HX_REQUEST="true")
                    rows.append({
                        "section": name, "as_of": day, "segment_id": segment_id, "statuses": statuses,
                        "median_s": statistics.median(times), "worst_s": max(times),
                        "queries": len(queries),
                    })  # fmt: skip
    return rows


def print_sections(rows: list[dict]) -> None:
    print(f"dashboard sections in process (test Client, finance lead, cache off), load {_load()}")
    print(f"  {'section':<14} {'as of':<10} {'segment':<7} {'median s':>8} {'worst s':>8} {'queries':>7}")
    for row in rows:
        segment = str(row["segment_id"] or "-")
        flag = "" if row["statuses"] == {200} else f"  status {sorted(row['statuses'])}"
        print(
            f"  {row['section']:<14} {row['as_of']!s:<10} {segment:<7} {row['median_s']:>8.3f} "
            f"{row['worst_s']:>8.3f} {row['queries']:>7}{flag}"
        )


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def aging_vs_floor(as_of: date, runs: int = RUNS) -> dict:
    """The report and both SQL floors, each the median of `runs`, in this run; and whether they agree."""
    from django.db import connection

    report, figures = _timed(lambda: _report(as_of), runs)
    joined, rows = _timed(lambda: _floor(as_of, connection), runs)
    flat, flat_rows = _timed(lambda: _floor(as_of, connection, FLAT_FLOOR_SQL), runs)
    floor = min(joined, flat)
    same_as = {
        name: set(floor_rows) <= set(figures)
        and all(
            figures[c]["aging"] == floor_rows[c]["aging"] and figures[c]["sales"] == floor_rows[c]["sales"]
            for c in floor_rows
        )
        for name, floor_rows in (("join", rows), ("flat", flat_rows))
    }
    return {
        "report_s": report, "join_floor_s": joined, "flat_floor_s": flat, "floor_s": floor,
        "ratio": report / floor if floor else None, "same_as": same_as, "runs": runs, "figures": figures,
    }  # fmt: skip


def _timed(work, runs: int = RUNS):
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _report(as_of: date) -> dict:
    from reports.selectors import ledger_figures

    return {
        f.currency: {
            "aging": dict(f.aging),
            "sales": f.credit_sales,
            "receivables": f.receivables,
            "dso": f.dso,
            "countback": f.countback_dso,
            "cei": f.cei,
        }
        for f in ledger_figures(as_of)
    }


def _trend(as_of: date):
    from reports.selectors import ledger_trend

    return ledger_trend(as_of)


def _worth_it_page(as_of: date):
    from customers.models import Customer
    from reports.selectors import worth_it_scores

    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[:50])
    return worth_it_scores(ids, today=as_of)


FLOOR_SQL = """
WITH paid AS (
    SELECT a.invoice_id, SUM(a.amount) AS amount
    FROM invoices_allocation a JOIN invoices_payment p ON p.id = a.payment_id
    WHERE p.received_on <= %(as_of)s
    GROUP BY a.invoice_id
), open_invoices AS (
    SELECT i.currency, %(as_of)s::date - i.due_date AS late,
           i.amount - COALESCE(paid.amount, 0) AS open_amount
    FROM invoices_invoice i LEFT JOIN paid ON paid.invoice_id = i.id
    WHERE i.issue_date <= %(as_of)s AND i.status NOT IN ('written_off', 'cancelled')
), sales AS (
    SELECT currency, SUM(amount) AS amount FROM invoices_invoice
    WHERE issue_date BETWEEN %(period_start)s AND %(as_of)s AND status NOT IN ('written_off', 'cancelled')
    GROUP BY currency
)
SELECT o.currency,
       SUM(CASE WHEN late <= 0 THEN open_amount ELSE 0 END),
       SUM(CASE WHEN late BETWEEN 1 AND 30 THEN open_amount ELSE 0 END),
       SUM(CASE WHEN late BETWEEN 31 AND 60 THEN open_amount ELSE 0 END),
       SUM(CASE WHEN late BETWEEN 61 AND 90 THEN open_amount ELSE 0 END),
       SUM(CASE WHEN late > 90 THEN open_amount ELSE 0 END),
       MAX(sales.amount)
FROM open_invoices o LEFT JOIN sales ON sales.currency = o.currency
GROUP BY o.currency
"""


# The same buckets the way the report computes them: invoiced minus allocated, each a flat conditional sum.
# {d} is the as-of day and {start} the first day of the DSO period (date literals, see _flat_floor_sql).
FLAT_FLOOR_SQL = """
WITH invoiced AS (
    SELECT currency,
           SUM(CASE WHEN due_date >= {d} THEN amount ELSE 0 END) AS b0,
           SUM(CASE WHEN due_date BETWEEN {d} - 30 AND {d} - 1 THEN amount ELSE 0 END) AS b1,
           SUM(CASE WHEN due_date BETWEEN {d} - 60 AND {d} - 31 THEN amount ELSE 0 END) AS b2,
           SUM(CASE WHEN due_date BETWEEN {d} - 90 AND {d} - 61 THEN amount ELSE 0 END) AS b3,
           SUM(CASE WHEN due_date <= {d} - 91 THEN amount ELSE 0 END) AS b4,
           SUM(CASE WHEN issue_date >= {start} THEN amount ELSE 0 END) AS sales
    FROM invoices_invoice
    WHERE issue_date <= {d} AND status NOT IN ('written_off', 'cancelled')
    GROUP BY currency
), allocated AS (
    SELECT i.currency,
           SUM(CASE WHEN i.due_date >= {d} THEN a.amount ELSE 0 END) AS b0,
           SUM(CASE WHEN i.due_date BETWEEN {d} - 30 AND {d} - 1 THEN a.amount ELSE 0 END) AS b1,
           SUM(CASE WHEN i.due_date BETWEEN {d} - 60 AND {d} - 31 THEN a.amount ELSE 0 END) AS b2,
           SUM(CASE WHEN i.due_date BETWEEN {d} - 90 AND {d} - 61 THEN a.amount ELSE 0 END) AS b3,
           SUM(CASE WHEN i.due_date <= {d} - 91 THEN a.amount ELSE 0 END) AS b4
    FROM invoices_allocation a
    JOIN invoices_invoice i ON i.id = a.invoice_id
    JOIN invoices_payment p ON p.id = a.payment_id
    WHERE i.issue_date <= {d} AND i.status NOT IN ('written_off', 'cancelled') AND p.received_on <= {d}
    GROUP BY i.currency
)
SELECT v.currency, v.b0 - COALESCE(a.b0, 0), v.b1 - COALESCE(a.b1, 0), v.b2 - COALESCE(a.b2, 0),
       v.b3 - COALESCE(a.b3, 0), v.b4 - COALESCE(a.b4, 0), v.sales
FROM invoiced v LEFT JOIN allocated a ON a.currency = v.currency
"""


def _flat_floor_sql(as_of: date, start: date) -> str:
    """FLAT_FLOOR_SQL with the two days written in as literals, as the ORM's query has them."""
    return FLAT_FLOOR_SQL.format(d=f"DATE '{as_of.isoformat()}'", start=f"DATE '{start.isoformat()}'")


def _floor(as_of: date, connection, sql: str = FLOOR_SQL) -> dict:
    from reports.ledger import BUCKET_KEYS, period_start

    start = period_start(as_of, 3)
    with connection.cursor() as cursor:
        if sql is FLAT_FLOOR_SQL:
            cursor.execute(_flat_floor_sql(as_of, start))
        else:
            cursor.execute(sql, {"as_of": as_of, "period_start": start})
        rows = cursor.fetchall()
    return {
        row[0]: {
            "aging": dict(zip(BUCKET_KEYS, (Decimal(v or 0) for v in row[1:6]), strict=True)),
            "sales": Decimal(row[6] or 0),
        }
        for row in rows
    }


if __name__ == "__main__":
    main()
