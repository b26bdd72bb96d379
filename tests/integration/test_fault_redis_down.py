"""Redis down: pages and the API keep answering, what needs the broker says so, the day's run catches up.

The app is served by gunicorn on a private PostgreSQL and a private redis-server (cache and broker),
which the test stops; the catch-up runs on a real worker on REDIS_URL and the test database.
"""

import datetime as dt
import os
import subprocess
import sys
import time

import pytest
import requests
from django.conf import settings
from django.core.cache import cache

from dunning.models import Reminder
from dunning.services import ensure_standard_policy
from tests.factories import CustomerFactory, InvoiceFactory
from tests.integration.conftest import ROOT, PrivateRedis, ServedApp, browser_session, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def served(app_database, private_redis, tmp_path):
    app = ServedApp({"DATABASE_URL": app_database.url, "REDIS_URL": private_redis.url}, tmp_path / "app")
    yield app
    app.stop()


def test_pages_and_api_keep_answering_while_redis_is_down(served, app_database, private_redis):
    username, password, token = app_database.credentials
    api = requests.Session()
    api.headers["Authorization"] = f"Token {token}"
    browser = browser_session(served, username, password)
    assert api.get(served.base_url + "/api/v1/customers/", timeout=10).status_code == 200

    private_redis.stop()
    for path in ("/api/v1/customers/", "/api/v1/invoices/", "/api/v1/reminders/"):
        started = time.monotonic()
        answer = api.get(served.base_url + path, timeout=20)
        assert answer.status_code == 200, (path, answer.status_code, served.log()[-2000:])
        assert time.monotonic() - started < 5
    created = api.post(
        served.base_url + "/api/v1/customers/",
        json={"account_number": "REDIS-DOWN-1", "name": "Written while Redis was down BV"},
        timeout=20,
    )
    assert created.status_code == 201, created.text
    for path in ("/", "/dunning/reminders/"):
        assert browser.get(served.base_url + path, timeout=20).status_code == 200, path


def test_run_dunning_says_clearly_that_the_broker_is_down_and_keeps_the_reminders(
    app_database, private_redis, tmp_path
):
    private_redis.stop()
    env = {
        **os.environ,
        "DATABASE_URL": app_database.url,
        "REDIS_URL": private_redis.url,
        "CREDITDESK_VAR_DIR": str(tmp_path),
    }
    owing = (
        "import datetime as dt\n"
        "from tests.factories import CustomerFactory, InvoiceFactory\n"
        "customer = CustomerFactory(account_number='BROKER-DOWN', email='ap@broker-down.example')\n"
        "InvoiceFactory(customer=customer, due_date=dt.date(2026, 11, 20))\n"
    )
    subprocess.run([sys.executable, "manage.py", "shell", "-c", owing], cwd=ROOT, env=env, check=True)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "manage.py", "run_dunning", "--summary-only", "--date", "2026-11-23"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert time.monotonic() - started < 20
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "1 reminder(s) were created" in done.stdout
    assert "broker (Redis) is unreachable" in done.stderr and "stay pending" in done.stderr


RUN_DAY = dt.date(2026, 11, 5)


@pytest.mark.django_db(transaction=True)
def test_a_daily_run_missed_while_redis_was_down_runs_at_the_next_tick(start_worker, smtp_inbox):
    """Beat advances its schedule before sending and only logs a failed send (celery.beat.Scheduler
    .apply_entry): with Redis down at the run hour, that day's run never reaches the queue."""
    from dunning.tasks import catch_up_dunning, run_marker

    ensure_standard_policy()
    cache.delete(run_marker(RUN_DAY))
    for number in range(3):
        customer = CustomerFactory(account_number=f"CU{number:03d}", email=f"ap{number}@customer.example")
        InvoiceFactory(customer=customer, due_date=RUN_DAY - dt.timedelta(days=3))

    assert catch_up_dunning(now=f"{RUN_DAY}T{settings.DUNNING_RUN_HOUR - 1:02d}:50") is False
    assert not Reminder.objects.exists()

    start_worker("catch-up", EMAIL_PORT=str(smtp_inbox.port))
    catch_up_dunning.delay(now=f"{RUN_DAY}T{settings.DUNNING_RUN_HOUR + 3:02d}:10")  # Redis is back
    wait_until(lambda: Reminder.objects.filter(status="sent").count() == 3, 60, "the caught-up run")
    assert set(Reminder.objects.values_list("run_on", flat=True)) == {RUN_DAY}
    assert catch_up_dunning(now=f"{RUN_DAY}T{settings.DUNNING_RUN_HOUR + 3:02d}:20") is False  # once a day
    cache.delete(run_marker(RUN_DAY))


def test_beat_schedules_the_catch_up_every_ten_minutes_at_most():
    entry = settings.CELERY_BEAT_SCHEDULE["dunning-catch-up"]
    assert entry["task"] == "dunning.tasks.catch_up_dunning" and entry["schedule"] <= 600
