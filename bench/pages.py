"""Whole pages over real HTTP, one client at a time, as the demo users live them.

Each user signs in through the real /login/ form (a database session, as in production); the
integrator calls the API with its token. Every request is timed whole (status 200 checked, body read
and counted). Query counts come from running each URL once more through Django's test Client under
CaptureQueriesContext in this process, on the same database: no header or setting in the app for it.
Runs in a pass process whose Django settings point at the pass's copy of the ledger.
"""

import os
import re
import statistics
import time
from dataclasses import dataclass, field

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "20"))
# A group stops early (after at least 3 timed requests) once it has used this many seconds: a 30-second
# dashboard timed 20 times would be ten minutes of one figure.
GROUP_SECONDS = float(os.environ.get("BENCH_GROUP_SECONDS", "90"))
PASSWORD = os.environ.get("BENCH_DEMO_PASSWORD", "demo-pass-2026")  # creditdesk.demo.writer.DEMO_PASSWORD
LONGEST_HISTORIES = 20

# The finance lead's dashboard, one entry per URL a person waits for: the headline, then each section
# (reports/sections.py SECTIONS), which the page loads on its own; today (live) and a past day (snapshots).
DASHBOARD_SECTIONS = ("aging", "trend", "breakdown", "effort", "excuses", "debt-bands", "channels", "portal")
DASHBOARD_DAYS = ("", "?as_of=2026-10-31")
DASHBOARD_URLS = tuple(
    path + day
    for day in DASHBOARD_DAYS
    for path in ("/reports/", *(f"/reports/section/{name}/" for name in DASHBOARD_SECTIONS))
)
WORTH_IT_URL = "/reports/worth-it/"
WORKLIST_URLS = {
    "page 1": "/worklist/",
    "page 20": "/worklist/?page=20",
    "filter + sort": "/worklist/?min_days_overdue=30&min_amount=1000&sort=amount",
    # The sorts that join other tables: the customers' names, the reports' kept worth-it scores.
    "name sort, page 20": "/worklist/?sort=name&page=20",
    "worth-it sort, page 20": "/worklist/?sort=worth_it&page=20",
}
API_URLS = {
    "API list of 100 invoices": "/api/v1/invoices/?page_size=100",
    "API list of 100 customers": "/api/v1/customers/?page_size=100",
}


@dataclass
class Group:
    """A URL group: the paths one figure is about, who opens them, and the target they have."""

    name: str
    username: str
    paths: list[str]
    target_ms: float
    max_queries: int | None = None
    count_queries: bool = True
    seconds: list[float] = field(default_factory=list)
    bytes: int = 0
    statuses: set = field(default_factory=set)
    queries: int | None = None


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (p95 of 20 values is the 19th)."""
    ordered = sorted(values)
    rank = max(1, -(-int(share * 100) * len(ordered) // 100))
    return ordered[rank - 1]


def sign_in(base: str, username: str):
    """A requests session signed in through the login form, as a browser does it."""
    import requests

    session = requests.Session()
    form = session.get(f"{base}/login/", timeout=60)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    answer = session.post(
        f"{base}/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token, "next": "/"},
        headers={"Referer": f"{base}/login/"},
        timeout=60,
    )
    if "sessionid" not in session.cookies or "/login/" in answer.url:
        raise RuntimeError(f"could not sign in as {username} (status {answer.status_code})")
    return session


def api_session(token: str):
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    return session


def longest_histories(count: int = LONGEST_HISTORIES) -> list[int]:
    """The customers with the most invoices: the fullest customer pages."""
    from django.db.models import Count

    from invoices.models import Invoice

    rows = Invoice.objects.values("customer").annotate(n=Count("id")).order_by("-n", "customer")[:count]
    return [row["customer"] for row in rows]


def busiest_collector() -> str:
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from customers.access import Role

    users = get_user_model().objects.filter(groups__name=Role.COLLECTOR.label)
    return users.annotate(size=Count("portfolio")).order_by("-size", "username").first().username


def integrator_token() -> str:
    from django.contrib.auth import get_user_model

    from creditdesk.tokens import issue_token

    return issue_token(get_user_model().objects.get(username="integrator")).key


def groups() -> list[Group]:
    return groups_for(busiest_collector(), longest_histories())


def groups_for(collector: str, customer_ids: tuple[int, ...] | list[int] = (0,)) -> list[Group]:
    """Every URL group, in the order they are timed: the manager's and the busiest collector's worklist,
    the customer pages of the longest histories, the dashboard, worth-it, the API lists."""
    found = [
        Group(f"worklist, {who}, {what}", username, [path], 100, max_queries=8)
        for who, username in (("manager", "manager"), ("collector", collector))
        for what, path in WORKLIST_URLS.items()
    ]
    customer_pages = [f"/customers/{pk}/" for pk in customer_ids]
    found.append(Group("customer page, longest histories", "manager", customer_pages, 150))
    found += [
        Group(f"dashboard {path}", "finance", [path], 1000, count_queries=False) for path in DASHBOARD_URLS
    ]
    found.append(
        Group(f"worth-it ranking {WORTH_IT_URL}", "finance", [WORTH_IT_URL], 1000, count_queries=False)
    )
    found += [Group(name, "integrator", [path], 100) for name, path in API_URLS.items()]
    return found


def fetch(session, base: str, path: str, group: Group) -> None:
    started = time.perf_counter()
    response = session.get(f"{base}{path}", timeout=300, allow_redirects=False)
    body = response.content
    group.seconds.append(time.perf_counter() - started)
    group.bytes += len(body)
    group.statuses.add(response.status_code)
    if response.status_code != 200:
        raise RuntimeError(f"{path}: status {response.status_code}, not 200")


def time_group(group: Group, base: str, sessions: dict, log=print) -> None:
    session = sessions[group.username]
    paths = [group.paths[n % len(group.paths)] for n in range(REQUESTS + 1)]
    fetch(session, base, paths[0], group)  # warm-up: connections, worker caches; not counted
    group.seconds.clear()
    spent = time.perf_counter()
    for path in paths[1:]:
        fetch(session, base, path, group)
        if len(group.seconds) >= 3 and time.perf_counter() - spent > GROUP_SECONDS:
            break
    log(f"  {group.name:<58} p50 {ms(statistics.median(group.seconds)):>8} p95 {ms(p95(group)):>8} "
        f"({len(group.seconds)} requests)")  # fmt: skip


def p95(group: Group) -> float:
    return percentile(group.seconds, 0.95)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def count_queries(group: Group, token: str) -> None:
    """The queries of one request of the group's first URL, through Django's test Client."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    headers = {}
    if group.username == "integrator":
        headers["HTTP_AUTHORIZATION"] = f"Token {token}"
    else:
        client.force_login(get_user_model().objects.get(username=group.username))
    with CaptureQueriesContext(connection) as captured:
        response = client.get(group.paths[0], **headers)
    if response.status_code != 200:
        raise RuntimeError(f"{group.paths[0]} through the test Client: status {response.status_code}")
    # Sessions and auth are queries of the request too: counted, as a user's request pays them.
    group.queries = len(captured.captured_queries)


def roll_kept_figures_to_today() -> None:
    """The ledger's history ends on ledgers.TODAY, but pages are about the real day: restate the kept
    figures for it, as the nightly tasks do in production, so every page is timed as a person sees it
    all day: the worklist's day (00:05, calls.tasks.roll_standings_forward), the worth-it scores with
    the debt bands (00:15, reports.tasks.rebuild_worth_it), which today's effort and debt-band sections
    read (kept as of another day, they would be computed live on every request), and the snapshots
    (reports.tasks.refresh_snapshots, at REPORTS_SNAPSHOT_HOUR), whose kept days of the channel and
    portal sections leave only today live. A repeat on the same day writes next to nothing."""
    from django.utils import timezone

    from calls import standing
    from reports.tasks import rebuild_worth_it, refresh_snapshots

    today = timezone.localdate()
    standing.roll_forward(today=today)
    rebuild_worth_it(today=today.isoformat())
    refresh_snapshots(today=today.isoformat())


def measure(base: str, log=print) -> list[dict]:
    roll_kept_figures_to_today()
    token = integrator_token()
    found = groups()
    sessions = {
        username: sign_in(base, username) for username in {g.username for g in found} - {"integrator"}
    }
    sessions["integrator"] = api_session(token)
    for group in found:
        time_group(group, base, sessions, log)
        if group.count_queries:
            count_queries(group, token)
    return [
        {
            "what": group.name,
            "paths": group.paths[:3],
            "user": group.username,
            "requests": len(group.seconds),
            "p50_ms": statistics.median(group.seconds) * 1000,
            "p95_ms": p95(group) * 1000,
            "bytes": group.bytes,
            "statuses": sorted(group.statuses),
            "queries": group.queries,
            "target_ms": group.target_ms,
            "max_queries": group.max_queries,
        }
        for group in found
    ]
