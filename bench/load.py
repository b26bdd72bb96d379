"""The load test: Locust, headless, in a child process (it monkey-patches the standard library with
gevent, which must not happen inside the pass process), against the pass's gunicorn.
BENCH_LOAD_USERS (16) and BENCH_LOAD_SECONDS (300).
"""

import csv
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from bench import pages
from bench.servers import Servers

ROOT = Path(__file__).resolve().parent.parent
USERS = int(os.environ.get("BENCH_LOAD_USERS", "16"))
SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "300"))
OPEN_INVOICES = 2000


def plan(token: str) -> dict:
    """What the simulated users need to know about this ledger (read once, here, not by them)."""
    from django.contrib.auth import get_user_model
    from django.db.models import F

    from customers.access import Role
    from invoices.models import Invoice

    collectors = get_user_model().objects.filter(groups__name=Role.COLLECTOR.label)
    portfolios = {
        user.username: list(user.portfolio.order_by("pk").values_list("pk", flat=True)[:2000])
        for user in collectors
    }
    # Open invoices with room for many 1.00 allocations; the payments are dated the server's today.
    invoices = (
        Invoice.objects.filter(status="open", amount__gte=500, allocated_amount__lte=F("amount") - 200)
        .order_by("pk")
        .values_list("customer__account_number", "number", "currency")[:OPEN_INVOICES]
    )
    return {
        "password": pages.PASSWORD,
        "portfolios": {name: ids for name, ids in portfolios.items() if ids},
        "worklist_urls": pages.WORKLIST_URLS,
        "dashboard_urls": list(pages.DASHBOARD_URLS),
        "worth_it_url": pages.WORTH_IT_URL,
        "api_urls": pages.API_URLS,
        "open_invoices": [list(row) for row in invoices],
        "token": token,
        "today": date.today().isoformat(),
    }


def run(servers: Servers, var_dir: Path, log=print) -> dict:
    plan_path = var_dir / "locust-plan.json"
    plan_path.write_text(json.dumps(plan(pages.integrator_token())))
    prefix = var_dir / "locust"
    command = [
        str(Path(sys.executable).with_name("locust")), "-f", str(ROOT / "bench" / "locustfile.py"),
        "--headless", "--users", str(USERS), "--spawn-rate", str(max(1, USERS // 4)),
        "--run-time", f"{SECONDS}s", "--host", servers.base, "--csv", str(prefix), "--only-summary",
        "--stop-timeout", "30", "--exit-code-on-error", "0", "--loglevel", "WARNING",
    ]  # fmt: skip
    log(f"  load test: {USERS} users for {SECONDS} s")
    env = {**os.environ, "BENCH_LOCUST_PLAN": str(plan_path)}
    with open(var_dir / "locust.log", "w") as output:
        subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=output, stderr=subprocess.STDOUT)
    return {"users": USERS, "seconds": SECONDS, **read_stats(prefix)}


def read_stats(prefix: Path) -> dict:
    """Locust's CSV summary: per request name, count, failures, p50 and p95 (ms); and the failures."""
    requests = {}
    with open(f"{prefix}_stats.csv") as file:
        for row in csv.DictReader(file):
            requests[row["Name"] if row["Name"] != "Aggregated" else "all requests"] = {
                "method": row["Type"],
                "count": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "p50_ms": number(row["50%"]),
                "p95_ms": number(row["95%"]),
            }
    with open(f"{prefix}_failures.csv") as file:
        failures = [
            {"name": row["Name"], "error": row["Error"][:300], "occurrences": int(row["Occurrences"])}
            for row in csv.DictReader(file)
        ]
    return {"requests": requests, "failures": failures}


def number(text: str) -> float | None:
    return None if text in ("", "N/A") else float(text)
