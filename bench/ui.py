"""Benchmark: worklist and customer page render times over real HTTP (median and 95th percentile).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_big python -m bench ui

Starts gunicorn (one sync worker, DEBUG off) on a free loopback port with bench.ui_settings, which
keeps the database untouched (signed-cookie sessions, every request rolled back), signs in as a
credit manager and as the collector with the largest portfolio, and times whole HTTP requests:
the worklist first page, a filtered and a later page, and the customer pages of the worklist's
top customers. Prints figures; asserts nothing. BENCH_UI_REQUESTS sets the number of requests.
"""

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REQUESTS = int(os.environ.get("BENCH_UI_REQUESTS", "20"))
ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.ui_settings"
    django.setup()
    from django.db import connection

    from customers.models import Customer
    from invoices.models import Invoice

    print(
        f"database: {connection.vendor} {connection.settings_dict['NAME']}; "
        f"{Customer.objects.count():,} customers, {Invoice.objects.count():,} invoices"
    )
    manager, collector = bench_users()
    if manager is None:
        print("no credit manager or collector in this database: seed it first (manage.py seed_demo)")
        return
    port = free_port()
    server = start_server(port)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base)
        for user in (manager, collector):
            cookie = session_cookie(user)
            label = f"{user.username} ({'all customers' if user == manager else 'portfolio'})"
            time_page(f"worklist, {label}", base, "/worklist/", cookie)
            time_page(
                f"worklist page 5, {label}", base, "/worklist/?page=5", cookie, runs=max(5, REQUESTS // 2)
            )
            time_page(
                f"worklist filtered (30+ days, 1000+), {label}",
                base,
                "/worklist/?min_days_overdue=30&min_amount=1000&sort=amount",
                cookie,
                runs=max(5, REQUESTS // 2),
            )
        cookie = session_cookie(collector)
        ids = top_customer_ids(collector, count=REQUESTS)
        worth_it_snapshot_cost(ids[:25])
        time_urls(
            "customer page (top of the collector's worklist)",
            base,
            [f"/customers/{pk}/" for pk in ids],
            cookie,
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)


def bench_users():
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from customers.access import Role

    users = get_user_model().objects
    manager = users.filter(groups__name=Role.CREDIT_MANAGER.label).first()
    collector = (
        users.filter(groups__name=Role.COLLECTOR.label)
        .annotate(size=Count("portfolio"))
        .order_by("-size")
        .first()
    )
    return manager, collector


def top_customer_ids(user, count: int) -> list[int]:
    from django.utils import timezone

    from calls.selectors import without_jit, worklist

    with without_jit():
        return list(worklist(user=user, today=timezone.localdate()).values_list("pk", flat=True)[:count])


def worth_it_snapshot_cost(ids: list[int]) -> None:
    """How much of each page is the worth-it revenue scale being rebuilt. The reports app keeps it in
    a snapshot row once a day (and after new allocations); this benchmark rolls every request back,
    so each request rebuilds it. Timed here in-process, in a transaction that is rolled back."""
    from django.db import transaction
    from django.utils import timezone

    from reports.selectors import worth_it_scores

    with transaction.atomic():
        started = time.perf_counter()
        worth_it_scores(ids, today=timezone.localdate())
        rebuilt = time.perf_counter() - started
        started = time.perf_counter()
        worth_it_scores(ids, today=timezone.localdate())
        kept = time.perf_counter() - started
        transaction.set_rollback(True)
    print(
        f"worth-it of one page, in-process: {rebuilt * 1000:.0f} ms rebuilding the revenue snapshot, "
        f"{kept * 1000:.0f} ms with the day's snapshot kept (every timed request pays the rebuild)"
    )


def session_cookie(user) -> str:
    """A signed-cookie session for the user, made locally: signing in this way writes nothing."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.signed_cookies import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    (ROOT / "var").mkdir(exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.ui_settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECURE_SSL_REDIRECT": "false",  # the benchmark speaks plain HTTP to its own server
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    log = open(ROOT / "var" / "bench-ui-server.log", "w")  # noqa: SIM115 (closed with the process)
    command = [
        str(gunicorn),
        "creditdesk.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--timeout",
        "120",
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)


def wait_until_up(base: str) -> None:
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/health/", timeout=5).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the benchmark server did not start")


def fetch(base: str, path: str, cookie: str) -> float:
    request = urllib.request.Request(f"{base}{path}", headers={"Cookie": cookie})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        body = response.read()
        if response.status != 200 or b"Sign in" in body[:3000]:
            raise RuntimeError(f"{path}: status {response.status} or not signed in")
    return time.perf_counter() - started


def time_page(label: str, base: str, path: str, cookie: str, runs: int = REQUESTS) -> None:
    time_urls(label, base, [path] * runs, cookie)


def time_urls(label: str, base: str, paths: list[str], cookie: str) -> None:
    fetch(base, paths[0], cookie)  # warm-up: connections, caches, the worth-it snapshot
    seconds = sorted(fetch(base, path, cookie) for path in paths)
    median = statistics.median(seconds)
    p95 = seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))]
    print(f"{label:<62} median {median * 1000:7.0f} ms  p95 {p95 * 1000:7.0f} ms  ({len(seconds)} requests)")
