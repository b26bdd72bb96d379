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
import os
import signal
import time

import pytest

from dunning.models import Reminder
from dunning.services import ensure_standard_policy
from tests.factories import CustomerFactory, InvoiceFactory
from tests.integration.conftest import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DUE = dt.date(2026, 11, 2)
TODAY = DUE + dt.timedelta(days=3)  # the polite step (+3) for most; +30 for the letter customers
EMAIL_CUSTOMERS, LETTER_CUSTOMERS = 20, 4


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

    first = start_worker("dunning-first", EMAIL_PORT=str(smtp_inbox.port))
    run_dunning.delay(TODAY.isoformat())
    wait_until(lambda: Reminder.objects.filter(status="sent").count() >= 2, 90, "the first deliveries")
    os.killpg(first.pid, signal.SIGKILL)  # mid-run: batches and deliveries still queued or in flight
    first.wait()
    delivered_before_kill = Reminder.objects.filter(status="sent").count()
    assert delivered_before_kill < EMAIL_CUSTOMERS + LETTER_CUSTOMERS

    time.sleep(2.5)  # let a claim the dead worker held go stale (DUNNING_SENDING_TIMEOUT=2)
    start_worker("dunning-second", EMAIL_PORT=str(smtp_inbox.port))
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
