"""`make bench` at a tiny size, so the benchmark code cannot rot: the whole pipeline (a 40-customer ledger
seeded into a template database, gunicorn and a Celery worker, pages over HTTP, query counts, Locust
for 10 s with 4 users, aging against the SQL floor, a small import, the dunning run) in a child process,
then its JSON checked: every row present, every page 200, no load-test failure, figures are numbers.
Times are never asserted. Needs PostgreSQL (DATABASE_URL); skips without it, fails in CI without it.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import ledgers, pages, run
from tests.conftest import need_service

ROOT = Path(__file__).resolve().parents[2]
TINY = {
    "BENCH_LEDGERS": "tiny",
    "BENCH_REQUESTS": "2",
    "BENCH_LOAD_USERS": "4",
    "BENCH_LOAD_SECONDS": "10",
    "BENCH_IMPORT_ROWS": "300",
    "BENCH_RUNS": "1",
}


@pytest.fixture
def bench_url():
    """A database name of its own on the test server: the pipeline builds <name>_benchtiny from it."""
    url = os.environ.get("DATABASE_URL", "")
    need_service(url.startswith(("postgres://", "postgresql://")), "PostgreSQL (set DATABASE_URL)")
    bench = ledgers.database_url(url, f"test_{ledgers.database_name(url)}_pipeline")
    yield bench
    ledgers.drop(bench, ledgers.template_name(bench, ledgers.LEDGERS["tiny"]))


def test_make_bench_runs_whole_at_a_tiny_size(bench_url, tmp_path):
    out = tmp_path / "results.json"
    env = {**os.environ, **TINY, "DATABASE_URL": bench_url, "BENCH_JSON": str(out)}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the pipeline's processes use the app's own settings
    done = subprocess.run(
        [sys.executable, "-m", "bench"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(out.read_text())
    figures = results["ledgers"]["tiny"]

    assert figures["counts"]["customers"] == 40
    assert isinstance(figures["seed_seconds"], float) and figures["seed_source"] == "seed_demo"
    expected_pages = {group.name for group in pages.groups_for("collector")}
    assert {page["what"] for page in figures["pages"]} == expected_pages
    for page in figures["pages"]:
        assert page["statuses"] == [200], page
        assert page["requests"] >= 2 and page["bytes"] > 0
        assert all(isinstance(page[key], float) for key in ("p50_ms", "p95_ms"))
        assert page["queries"] is None or page["queries"] > 0

    load = figures["load"]
    assert load["failures"] == [] and load["requests"]["all requests"]["failures"] == 0
    assert load["requests"]["all requests"]["count"] > 0
    assert load["memory_mb"]["web"] > 0 and load["memory_mb"]["worker"] > 0

    assert figures["aging"]["same_as"] == {"join": True, "flat": True}
    assert figures["aging"]["report_s"] > 0 and figures["aging"]["floor_s"] > 0
    assert figures["import"]["import_created"] == 300 and figures["import"]["reimport_created"] == 0
    assert figures["import"]["copy_table_s"] > 0
    dunning = figures["dunning"]
    assert dunning["customers"] == 40 and dunning["reminders_created"] > 0
    assert dunning["repeat_reminders_created"] == 0 and dunning["repeat_proposals_made"] == 0

    rows = {row["what"] for row in results["rows"]}
    for what in (
        "aging + DSO, one as-of day (median)",
        "load: 4 users for 10 s, errors",
        "memory: peak RSS of a gunicorn worker",
        "memory: peak RSS of a Celery worker process",
        "import_invoices of 300 rows",
        "seed_demo --customers 40",
        *expected_pages,
    ):
        assert what in rows
    assert any(what.startswith("dunning run 2026-11-24") for what in rows)
    assert all(row["met"] in ("yes", "no", "n/a") for row in results["rows"])
    assert "met" in done.stdout and str(out) in done.stdout  # the table was printed


def test_bench_needs_postgresql(monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "")
    assert run.main() == 2
    assert "needs PostgreSQL" in capsys.readouterr().out


def test_a_template_is_reused_only_when_complete_for_the_ledger_and_the_migrations():
    ledger = ledgers.LEDGERS["20k"]
    marker = {"customers": 20_000, "counted_customers": 20_000, "seed": 1, "today": ledgers.TODAY,
              "migrations": ledgers.migrations_fingerprint()}  # fmt: skip
    assert ledgers.is_complete(marker, ledger)
    assert not ledgers.is_complete(None, ledger)
    assert not ledgers.is_complete({**marker, "counted_customers": 12_345}, ledger)  # seeding cut short
    assert not ledgers.is_complete({**marker, "seed": 2}, ledger)
    assert not ledgers.is_complete({**marker, "migrations": "older"}, ledger)


def test_p95_is_the_nearest_rank():
    assert pages.percentile([float(n) for n in range(1, 21)], 0.95) == 19.0
    assert pages.percentile([5.0], 0.95) == 5.0
    assert pages.percentile([3.0, 1.0, 2.0], 0.5) == 2.0
