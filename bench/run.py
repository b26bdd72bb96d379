"""`make bench`: every target of issue 10 on both ledgers, as one table and as JSON.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_x REDIS_URL=redis://127.0.0.1:6379/8 make bench

1. Ledgers (bench/ledgers.py): the 20k and 50k templates, seeded by seed_demo (timed) or reused.
2. For each ledger, a pass in a child process on a fresh copy of the template (its own Django settings,
   DATABASE_URL the copy): gunicorn with 2 workers and a Celery worker on the copy; whole pages timed
   over HTTP, one client (bench/pages.py); aging + DSO against the SQL floor (bench/reports.py); the
   Locust load test with RSS sampling (bench/load.py); import_invoices against COPY (bench/api.py);
   the dunning run and its repeat on real Celery workers (bench/dunning.py). The pass writes its
   figures as JSON.
3. The table: one row per target and ledger (figure, floor where there is one, target, met), printed
   and written to BENCH_JSON (default var/bench/results.json).

By environment: BENCH_LEDGERS (20k,50k), BENCH_REQUESTS, BENCH_GROUP_SECONDS, BENCH_LOAD_USERS,
BENCH_LOAD_SECONDS, BENCH_IMPORT_ROWS, BENCH_RUNS, BENCH_ADOPT_20K / BENCH_ADOPT_50K (bench/ledgers.py).
"""

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from bench import ledgers

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = ROOT / "var" / "bench" / "results.json"
DUNNING_DATE = "2026-11-24"  # the day after the ledger's history ends, as in the issue


def load_average() -> str:
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print(
            "make bench needs PostgreSQL: set DATABASE_URL=postgres://user@host:5432/<name> (the\n"
            "ledgers are built as template databases <name>_bench20k and <name>_bench50k on that\n"
            "server) and, for the Celery worker, REDIS_URL=redis://127.0.0.1:6379/<n>."
        )
        return 2
    keys = os.environ.get("BENCH_LEDGERS", "20k,50k").split(",")
    out = Path(os.environ.get("BENCH_JSON") or DEFAULT_JSON)
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results = {"started": started, "load_average_start": load_average(), "ledgers": {}}
    for key in keys:
        ledger = ledgers.LEDGERS[key]
        marker = ledgers.ensure_template(url, ledger)
        with ledgers.fresh_copy(url, ledger) as copy_url:
            figures = run_pass(copy_url, ledger, out.parent)
        figures["seed_seconds"] = marker.get("seed_seconds")
        figures["seed_source"] = marker.get("source")
        results["ledgers"][key] = figures
    results["load_average_end"] = load_average()
    results["rows"] = table_rows(results)
    out.write_text(json.dumps(results, indent=2, default=str))
    print_table(results)
    start, end = results["load_average_start"], results["load_average_end"]
    print(f"\nJSON: {out}; load average at start {start}, at end {end}")
    return 0


def run_pass(copy_url: str, ledger: ledgers.Ledger, folder: Path) -> dict:
    """One ledger's measurements, in a child process whose Django runs on the copy."""
    out = folder / f"pass-{ledger.key}.json"
    env = {
        **os.environ,
        "DATABASE_URL": copy_url,
        "DJANGO_SETTINGS_MODULE": "creditdesk.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "BENCH_DUNNING_DATE": DUNNING_DATE,
    }
    subprocess.run(
        [sys.executable, "-m", "bench.run", "--pass", ledger.key, str(out)], cwd=ROOT, env=env, check=True
    )
    return json.loads(out.read_text())


def measure_pass(key: str, out: Path) -> None:
    import django

    django.setup()
    from django.db import connection

    from bench import api, load, pages, reports
    from bench.servers import RssSampler, Servers

    def log(line: str) -> None:
        print(line, flush=True)

    var_dir = out.parent / f"pass-{key}"
    figures: dict = {"ledger": key, "database": connection.settings_dict["NAME"], "load_average": {}}
    figures["counts"] = counts()
    customers, invoices = figures["counts"]["customers"], figures["counts"]["invoices"]
    log(f"== ledger {key}: {customers:,} customers, {invoices:,} invoices; load average {load_average()}")
    # RSS of every serving process from the first page to the end of the load test: the single
    # dashboard request may be the peak as much as sixteen users are. The pages are timed with the
    # dashboard's cache off (each figure is the first reader's wait); the load test runs the app as
    # deployed, its cache on, since many people at once is what the cache is for.
    peaks = []
    with Servers(os.environ["DATABASE_URL"], var_dir) as servers:
        sampler = RssSampler(servers)
        sampler.start()
        figures["pages"] = pages.measure(servers.base, log)
        peaks.append(sampler.stop())
        figures["load_average"]["pages"] = load_average()
    connection.close()  # the load test must not find this process idle in a transaction
    with Servers(os.environ["DATABASE_URL"], var_dir, reports_cached=True) as servers:
        sampler = RssSampler(servers)
        sampler.start()
        figures["load"] = load.run(servers, var_dir, log)
        peaks.append(sampler.stop())
        memory = {kind: max(peak[kind] for peak in peaks) for kind in ("web", "worker")}
        figures["load"]["memory_mb"] = {**memory, "samples": sum(peak["samples"] for peak in peaks)}
        figures["load_average"]["load"] = load_average()
        failures = sum(failure["occurrences"] for failure in figures["load"]["failures"])
        log(f"  load test: {failures} failures; load average {load_average()}")
    log("  aging + DSO against the SQL floor")
    aging = reports.aging_vs_floor(date.fromisoformat(ledgers.TODAY))
    aging.pop("figures")
    figures["aging"] = aging
    figures["load_average"]["aging"] = load_average()
    log("  import_invoices against COPY")
    figures["import"] = api.import_vs_copy(api.IMPORT_ROWS)
    figures["load_average"]["import"] = load_average()
    log("  dunning run")
    figures["dunning"] = dunning_figures()
    figures["load_average"]["dunning"] = load_average()
    out.write_text(json.dumps(figures, indent=2, default=str))


def counts() -> dict:
    from customers.models import Customer
    from invoices.models import Invoice

    return {"customers": Customer.objects.count(), "invoices": Invoice.objects.count()}


def dunning_figures() -> dict:
    """One day's dunning run on real Celery workers (bench/dunning.py), then its same-day repeat."""
    from bench import dunning

    return dunning.run(today=DUNNING_DATE)


def met(value, limit) -> str:
    if value is None or limit is None:
        return "n/a"
    return "yes" if value <= limit else "no"


def table_rows(results: dict) -> list[dict]:
    """One row per target of the issue, per ledger: what, figure, floor, target, met."""
    rows = []
    for key, figures in results["ledgers"].items():
        for what, figure, floor, target, ok in ledger_rows(key, figures):
            rows.append(
                {"ledger": key, "what": what, "figure": figure, "floor": floor, "target": target, "met": ok}
            )
    return rows


def ledger_rows(key: str, f: dict):
    """(what, figure, floor, target, met) for each target, in the issue's order."""
    for page in f["pages"]:
        yield page_row(page)
    aging = f["aging"]
    yield (
        "aging + DSO, one as-of day (median)",
        f"{aging['report_s'] * 1000:.0f} ms ({aging['ratio']:.2f}x)",
        f"{aging['floor_s'] * 1000:.0f} ms",
        "<= 1.5x the SQL floor",
        met(aging["ratio"], 1.5),
    )
    yield from load_rows(f["load"])
    yield from import_rows(f["import"])
    yield from dunning_rows(f["dunning"])
    seed = f.get("seed_seconds")
    yield (
        f"seed_demo --customers {f['counts']['customers']:,}",
        f"{seed:.0f} s" if seed is not None else f"not measured ({f.get('seed_source')})",
        "",
        "<= 300 s (20k)",
        met(seed, 300) if key == "20k" else "n/a",
    )


def page_row(page: dict) -> tuple:
    queries = page["queries"]
    figure = f"p50 {page['p50_ms']:.0f} ms, p95 {page['p95_ms']:.0f} ms"
    target = f"p95 <= {page['target_ms']:.0f} ms"
    ok = met(page["p95_ms"], page["target_ms"])
    if queries is not None:
        figure += f", {queries} queries"
    if page["max_queries"]:
        target += f", <= {page['max_queries']} queries"
        ok = "no" if met(queries, page["max_queries"]) == "no" else ok
    return page["what"], figure, "", target, ok


def load_rows(load: dict):
    failures = sum(failure["occurrences"] for failure in load["failures"])
    total = load["requests"].get("all requests", {}).get("count", 0)
    yield (
        f"load: {load['users']} users for {load['seconds']} s, errors",
        f"{failures} of {total:,} requests",
        "",
        "0 errors",
        "yes" if failures == 0 and total else "no",
    )
    for name, stats in sorted(load["requests"].items()):
        limit = load_limit_ms(name)
        figure = f"p50 {stats['p50_ms'] or 0:.0f} ms, p95 {stats['p95_ms'] or 0:.0f} ms ({stats['count']:,})"
        target = f"p95 <= {limit:.0f} ms (2x)" if limit else "-"
        yield f"load: {name}", figure, "", target, met(stats["p95_ms"], limit)
    memory = load["memory_mb"]
    web, worker = memory["web"], memory["worker"]
    yield "memory: peak RSS of a gunicorn worker", f"{web:.0f} MB", "", "<= 300 MB", met(web, 300)
    yield "memory: peak RSS of a Celery worker process", f"{worker:.0f} MB", "", "<= 500 MB", met(worker, 500)


def import_rows(imp: dict):
    rows, seconds, floor = imp["rows"], imp["import_s"], imp["copy_table_s"]
    ratio = seconds / floor
    # 30 s is for a million rows: a smaller import is held to the same rate.
    fast_enough = seconds * 1_000_000 / rows <= 30
    yield (
        f"import_invoices of {rows:,} rows",
        f"{seconds:.1f} s ({ratio:.2f}x)",
        f"{floor:.1f} s",
        "<= 30 s, <= 1.5x COPY",
        "yes" if ratio <= 1.5 and fast_enough else "no",
    )
    created = imp["reimport_created"]
    yield (
        f"import_invoices re-import, unchanged ({rows:,})",
        f"{imp['reimport_s']:.1f} s, {created} created",
        "",
        "creates nothing",
        "yes" if created == 0 else "no",
    )


def dunning_rows(dunning: dict):
    yield (
        f"dunning run {DUNNING_DATE} ({dunning['customers']:,} customers, {dunning['mode']})",
        f"{dunning['run_seconds']:.1f} s, {dunning['reminders_created']:,} reminders,"
        f" {dunning['proposals_made']:,} proposals;"
        f" {dunning.get('run_worker_cpu_seconds', '-')} s worker CPU;"
        f" after the nightly upkeep ({dunning['nightly_upkeep_seconds']:.0f} s, apart)",
        "",
        "<= 15 s wall (50k)",
        met(dunning["run_seconds"], 15),
    )
    created = dunning["repeat_reminders_created"] + dunning["repeat_proposals_made"]
    yield (
        "dunning same-day repeat",
        f"{dunning['repeat_seconds']:.1f} s, {created} created",
        "",
        "<= 5 s, creates nothing",
        "yes" if dunning["repeat_seconds"] <= 5 and not created else "no",
    )


def load_limit_ms(name: str) -> float | None:
    """The single-client p95 target of a request name, doubled (the issue: within 2x under load)."""
    for prefix, target in (("worklist", 100), ("customer page", 150), ("dashboard", 1000),
                           ("worth-it", 1000), ("API list", 100)):  # fmt: skip
        if name.startswith(prefix):
            return 2 * target
    return None


def print_table(results: dict) -> None:
    rows = results["rows"]
    header = ("ledger", "what", "figure", "floor", "target")
    widths = [max(len(column), *(len(str(r[column])) for r in rows)) for column in header]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + "  met"
    print("\n" + line)
    print("-" * len(line))
    for r in rows:
        cells = (r["ledger"], r["what"], r["figure"], r["floor"], r["target"])
        print("  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + f"  {r['met']}")


def reprint(path: Path) -> None:
    """`python -m bench.run --table results.json`: the table again, rows recomputed from the figures."""
    results = json.loads(path.read_text())
    results["rows"] = table_rows(results)
    print_table(results)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--pass":
        measure_pass(sys.argv[2], Path(sys.argv[3]))
    elif len(sys.argv) == 3 and sys.argv[1] == "--table":
        reprint(Path(sys.argv[2]))
    else:
        sys.exit(main(sys.argv[1:]))
