"""`make bench`: every target of issue 10 on both ledgers, as one table and as JSON.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_x REDIS_URL=redis://127.0.0.1:6379/8 make bench

1. Ledgers (bench/ledgers.py): the 20k and 50k templates, seeded by seed_demo (timed) or reused.
2. For each ledger, a pass in a child process on a fresh copy of the template (its own Django settings,
   DATABASE_URL the copy): gunicorn with 2 workers and a Celery worker on the copy; whole pages timed
   over HTTP, one client (bench/pages.py); aging + DSO against the SQL floor (bench/reports.py); the
   Locust load test with RSS sampling (bench/load.py); import_invoices against COPY (bench/api.py);
   the dunning run (bench/dunning.py, see DUNNING_FIGURES). The pass writes its figures as JSON.
3. The table: one row per target and ledger (figure, floor where there is one, target, met), printed
   and written to BENCH_JSON (default var/bench/results.json).

By environment: BENCH_LEDGERS (20k,50k), BENCH_REQUESTS, BENCH_GROUP_SECONDS, BENCH_LOAD_USERS,
BENCH_LOAD_SECONDS, BENCH_IMPORT_ROWS, BENCH_RUNS, BENCH_ADOPT_20K / BENCH_ADOPT_50K (bench/ledgers.py).
"""

import importlib
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
# HOOK: the function bench/dunning.py exposes (its owner is rewriting it) that returns the run's figures
# as a dict: {"first_run_s", "repeat_run_s", "repeat_created", "workers", "reminders"}. Until it exists,
# the pass times dunning's main() whole and parses nothing (figures marked "main() wall time").
DUNNING_FIGURES = "measure"


def load_average() -> str:
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print(
            "make bench needs PostgreSQL: set DATABASE_URL=postgres://user@host:5432/<name> (the ledgers are\n"
            "built as template databases <name>_bench20k and <name>_bench50k on that server) and, for the\n"
            "Celery worker, REDIS_URL=redis://127.0.0.1:6379/<n>."
        )
        return 2
    keys = os.environ.get("BENCH_LEDGERS", "20k,50k").split(",")
    out = Path(os.environ.get("BENCH_JSON") or DEFAULT_JSON)
    out.parent.mkdir(parents=True, exist_ok=True)
    results = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "load_average_start": load_average(),
               "ledgers": {}}  # fmt: skip
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
    print(f"\nJSON: {out}; load average at start {results['load_average_start']}, at end {results['load_average_end']}")
    return 0


def run_pass(copy_url: str, ledger: ledgers.Ledger, folder: Path) -> dict:
    """One ledger's measurements, in a child process whose Django runs on the copy."""
    out = folder / f"pass-{ledger.key}.json"
    env = {**os.environ, "DATABASE_URL": copy_url, "DJANGO_SETTINGS_MODULE": "creditdesk.settings",
           "DJANGO_DEBUG": "false", "DJANGO_SECURE_SSL_REDIRECT": "false",
           "BENCH_DUNNING_DATE": DUNNING_DATE}  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "bench.run", "--pass", ledger.key, str(out)], cwd=ROOT, env=env, check=True
    )
    return json.loads(out.read_text())


def measure_pass(key: str, out: Path) -> None:
    import django

    django.setup()
    from django.db import connection

    from bench import api, load, pages, reports
    from bench.servers import Servers

    def log(line: str) -> None:
        print(line, flush=True)

    var_dir = out.parent / f"pass-{key}"
    figures: dict = {"ledger": key, "database": connection.settings_dict["NAME"], "load_average": {}}
    figures["counts"] = counts()
    log(f"== ledger {key}: {figures['counts']['customers']:,} customers, {figures['counts']['invoices']:,} "
        f"invoices; load average {load_average()}")  # fmt: skip
    with Servers(os.environ["DATABASE_URL"], var_dir) as servers:
        figures["pages"] = pages.measure(servers.base, log)
        figures["load_average"]["pages"] = load_average()
        connection.close()  # the load test must not find this process idle in a transaction
        figures["load"] = load.run(servers, var_dir, log)
        figures["load_average"]["load"] = load_average()
        log(f"  load test: {figures['load']['requests'].get('all requests', {}).get('count', 0):,} requests, "
            f"{sum(f['occurrences'] for f in figures['load']['failures'])} failures; load average {load_average()}")
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
    """The dunning run's figures from bench/dunning.py's DUNNING_FIGURES function when it has one;
    else its main() timed whole (first run and same-day re-run of every batch, one process, rolled
    back): a stand-in, not the target's measure, until the hook is wired."""
    module = importlib.import_module("bench.dunning")
    function = getattr(module, DUNNING_FIGURES, None)
    if function is not None:
        return {"source": f"bench.dunning.{DUNNING_FIGURES}()", **function()}
    started = time.perf_counter()
    module.main()
    return {"source": "bench.dunning.main() wall time (hook not wired)", "main_wall_s": time.perf_counter() - started}


def met(value, limit) -> str:
    if value is None or limit is None:
        return "n/a"
    return "yes" if value <= limit else "no"


def table_rows(results: dict) -> list[dict]:
    """One row per target of the issue, per ledger: what, figure, floor, target, met."""
    rows = []
    for key, f in results["ledgers"].items():

        def row(what, figure, target, ok, floor="", unit=""):
            rows.append({"ledger": key, "what": what, "figure": figure, "floor": floor, "target": target,
                         "met": ok, "unit": unit})  # fmt: skip

        for page in f["pages"]:
            queries = page["queries"]
            figure = f"p50 {page['p50_ms']:.0f} ms, p95 {page['p95_ms']:.0f} ms"
            if queries is not None:
                figure += f", {queries} queries"
            target = f"p95 <= {page['target_ms']:.0f} ms" + (
                f", <= {page['max_queries']} queries" if page["max_queries"] else ""
            )
            ok = met(page["p95_ms"], page["target_ms"])
            if page["max_queries"] and ok == "yes":
                ok = met(queries, page["max_queries"])
            row(page["what"], figure, target, ok)
        aging = f["aging"]
        row("aging + DSO, one as-of day (median)", f"{aging['report_s'] * 1000:.0f} ms ({aging['ratio']:.2f}x)",
            "<= 1.5x the SQL floor", met(aging["ratio"], 1.5), floor=f"{aging['floor_s'] * 1000:.0f} ms")  # fmt: skip
        load = f["load"]
        failures = sum(x["occurrences"] for x in load["failures"])
        total = load["requests"].get("all requests", {}).get("count", 0)
        row(f"load: {load['users']} users for {load['seconds']} s, errors", f"{failures} of {total:,} requests",
            "0 errors", "yes" if failures == 0 and total else "no")  # fmt: skip
        for name, stats in sorted(load["requests"].items()):
            limit = load_limit_ms(name)
            figure = f"p50 {stats['p50_ms'] or 0:.0f} ms, p95 {stats['p95_ms'] or 0:.0f} ms ({stats['count']:,})"
            target = f"p95 <= {limit:.0f} ms (2x)" if limit else "-"
            row(f"load: {name}", figure, target, met(stats["p95_ms"], limit))
        memory = load["memory_mb"]
        row("memory: peak RSS of a gunicorn worker", f"{memory['web']:.0f} MB", "<= 300 MB", met(memory["web"], 300))
        row("memory: peak RSS of a Celery worker process", f"{memory['worker']:.0f} MB", "<= 500 MB",
            met(memory["worker"], 500) if memory["worker"] else "n/a")  # fmt: skip
        imp = f["import"]
        ratio = imp["import_s"] / imp["copy_table_s"]
        row(f"import_invoices of {imp['rows']:,} rows", f"{imp['import_s']:.1f} s ({ratio:.2f}x)",
            "<= 30 s, <= 1.5x COPY", "yes" if ratio <= 1.5 and imp["import_s"] * 1_000_000 / imp["rows"] <= 30 else "no",
            floor=f"{imp['copy_table_s']:.1f} s")  # fmt: skip
        row(f"import_invoices re-import, unchanged ({imp['rows']:,})", f"{imp['reimport_s']:.1f} s, "
            f"{imp['reimport_created']} created", "creates nothing", "yes" if imp["reimport_created"] == 0 else "no")  # fmt: skip
        dunning = f["dunning"]
        if "first_run_s" in dunning:
            row(f"dunning run {DUNNING_DATE}", f"{dunning['first_run_s']:.1f} s", "<= 15 s wall (50k)",
                met(dunning["first_run_s"], 15))  # fmt: skip
            row("dunning same-day repeat", f"{dunning['repeat_run_s']:.1f} s, {dunning.get('repeat_created')} created",
                "<= 5 s, creates nothing",
                "yes" if dunning["repeat_run_s"] <= 5 and not dunning.get("repeat_created") else "no")  # fmt: skip
        else:
            row(f"dunning run {DUNNING_DATE} (stand-in, hook not wired)",
                f"{dunning['main_wall_s']:.1f} s for main(): run + re-run", "<= 15 s wall; repeat <= 5 s", "n/a")  # fmt: skip
        seed = f.get("seed_seconds")
        row(f"seed_demo --customers {f['counts']['customers']:,}",
            f"{seed:.0f} s" if seed is not None else f"not measured ({f.get('seed_source')})",
            "<= 300 s (20k)", met(seed, 300) if key == "20k" else "n/a")  # fmt: skip
    return rows


def load_limit_ms(name: str) -> float | None:
    """The single-client p95 target of a request name, doubled (the issue: within 2x under load)."""
    for prefix, target in (("worklist", 100), ("customer page", 150), ("dashboard", 1000),
                           ("worth-it", 1000), ("API list", 100)):  # fmt: skip
        if name.startswith(prefix):
            return 2 * target
    return None


def print_table(results: dict) -> None:
    rows = results["rows"]
    widths = [max(len(str(r[c])) for r in rows) for c in ("ledger", "what", "figure", "floor", "target")]
    header = ("ledger", "what", "figure", "floor", "target")
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
