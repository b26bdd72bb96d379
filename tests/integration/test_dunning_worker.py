"""End to end: a real Celery worker on Redis runs the day's dunning and mails through real SMTP.

The worker is a separate process pointed at the test database (hence a transactional test: the
data must be committed for it to see). Halfway through, it is killed with SIGKILL; a new worker and
a second run must leave exactly one reminder per customer, every one delivered.

Delivery is at-least-once across a crash: a worker killed between the SMTP server accepting a
message and the database recording it leaves a claim that goes stale and is delivered again. Only
that one in-flight message can repeat (the worker runs one task at a time), and it repeats with the
same Message-ID, which mail clients show once.
"""

import datetime as dt
import email
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from dunning.models import Reminder
from dunning.services import ensure_standard_policy
from tests.conftest import need_service
from tests.factories import CustomerFactory, InvoiceFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DUE = dt.date(2026, 11, 2)
TODAY = DUE + dt.timedelta(days=3)  # the polite step (+3) for most; +30 for the letter customers
EMAIL_CUSTOMERS, LETTER_CUSTOMERS = 20, 4
ROOT = Path(__file__).resolve().parents[2]


def redis_available() -> bool:
    if not settings.REDIS_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def reminder_ids(self) -> list[int]:
        return [int(message["X-CreditDesk-Reminder"]) for message in self.messages]


@pytest.fixture
def smtp_inbox():
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def celery_app():
    need_service(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    need_service(redis_available(), "Redis (set REDIS_URL)")
    from creditdesk.celery import app

    app.control.purge()
    yield app
    app.control.purge()


@pytest.fixture
def start_worker(celery_app, smtp_inbox, tmp_path):
    """Start a worker process on the test database; returns the Popen. Every worker is stopped after."""
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATABASE_CONN_MAX_AGE": "0",
        "REDIS_URL": settings.REDIS_URL,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_inbox.port),
        "DUNNING_BATCH_SIZE": "4",
        "DUNNING_SENDING_TIMEOUT": "2",
        "CREDITDESK_MEDIA_ROOT": str(tmp_path / "media"),
        "CREDITDESK_VAR_DIR": str(tmp_path / "var"),
    }
    workers: list[subprocess.Popen] = []

    def start(name: str) -> subprocess.Popen:
        log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "creditdesk", "worker", "--pool=solo", "-l", "info",
             "-n", f"{name}-{os.getpid()}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"Timed out after {timeout}s waiting for {what}")


def test_worker_killed_mid_run_then_rerun_delivers_every_reminder_exactly_once(
    start_worker, smtp_inbox, tmp_path
):
    from dunning.tasks import run_dunning

    ensure_standard_policy()
    invoices = {}
    for number in range(EMAIL_CUSTOMERS + LETTER_CUSTOMERS):
        customer = CustomerFactory(account_number=f"IT{number:03d}", email=f"ap{number}@customer.example")
        due = DUE if number < EMAIL_CUSTOMERS else TODAY - dt.timedelta(days=30)
        invoices[customer.pk] = {
            invoice.number
            for invoice in InvoiceFactory.create_batch(1 + number % 3, customer=customer, due_date=due)
        }

    first = start_worker("dunning-first")
    run_dunning.delay(TODAY.isoformat())
    wait_until(lambda: Reminder.objects.filter(status="sent").count() >= 2, 90, "the first deliveries")
    os.killpg(first.pid, signal.SIGKILL)  # mid-run: batches and deliveries still queued or in flight
    first.wait()
    delivered_before_kill = Reminder.objects.filter(status="sent").count()
    assert delivered_before_kill < EMAIL_CUSTOMERS + LETTER_CUSTOMERS

    time.sleep(2.5)  # let a claim the dead worker held go stale (DUNNING_SENDING_TIMEOUT=2)
    start_worker("dunning-second")
    run_dunning.delay(TODAY.isoformat())
    wait_until(
        lambda: Reminder.objects.filter(status="sent").count() == EMAIL_CUSTOMERS + LETTER_CUSTOMERS,
        120,
        f"every reminder delivered (worker log: {tmp_path})",
    )

    reminders = list(Reminder.objects.prefetch_related("invoices"))
    assert len(reminders) == len({r.customer_id for r in reminders}) == EMAIL_CUSTOMERS + LETTER_CUSTOMERS
    for reminder in reminders:
        assert {invoice.number for invoice in reminder.invoices.all()} == invoices[reminder.customer_id]
    emailed = {r.pk for r in reminders if r.channel == "email"}
    received = smtp_inbox.reminder_ids()
    assert set(received) == emailed  # none missing, none invented
    assert len(received) - len(emailed) <= 1  # at most the one message in flight when killed
    assert len({m["Message-ID"] for m in smtp_inbox.messages}) == len(emailed)
    letters = [r for r in reminders if r.channel == "letter"]
    assert len(letters) == LETTER_CUSTOMERS and all(r.letter_pdf.name.endswith(".pdf") for r in letters)
    by_id = {r.pk: r for r in reminders}
    for message in smtp_inbox.messages:
        reminder = by_id[int(message["X-CreditDesk-Reminder"])]
        assert message["To"] == reminder.customer.email
        assert all(number in message.get_payload() for number in invoices[reminder.customer_id])
