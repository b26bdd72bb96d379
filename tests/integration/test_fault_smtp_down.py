"""SMTP down during a delivery run: first a server that accepts connections but never answers, then
none at all, then a real one. Reminders wait, pending with the reason, and go out once it is back:
each exactly once, however many delivery tasks (retries, deliver_pending) were queued for it."""

import datetime as dt
import socket
import time
from collections import Counter

import pytest

from dunning.models import Reminder
from dunning.services import ensure_standard_policy
from tests.factories import CustomerFactory, InvoiceFactory
from tests.integration.conftest import Inbox, free_port, start_smtp, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DUE = dt.date(2026, 11, 2)
TODAY = DUE + dt.timedelta(days=3)
CUSTOMERS = 5


def test_reminders_wait_while_smtp_is_down_and_go_out_once_when_it_is_back(start_worker):
    from dunning.tasks import deliver_pending, run_dunning

    ensure_standard_policy()
    for number in range(CUSTOMERS):
        customer = CustomerFactory(account_number=f"SM{number:03d}", email=f"ap{number}@customer.example")
        InvoiceFactory(customer=customer, due_date=DUE)
    port = free_port()
    silent = socket.socket()  # accepts connections (the kernel does) but never says a word
    silent.bind(("127.0.0.1", port))
    silent.listen(64)

    start_worker(
        "smtp-down",
        EMAIL_PORT=str(port),
        EMAIL_TIMEOUT="1",
        DUNNING_DELIVERY_MAX_RETRIES="100",
        DUNNING_RETRY_BACKOFF_MAX="1",
    )
    run_dunning.delay(TODAY.isoformat())

    def all_waiting(reason: str):
        reminders = list(Reminder.objects.all())
        return len(reminders) == CUSTOMERS and all(
            r.status == "pending" and r.attempts >= 2 and reason in r.last_error.lower() for r in reminders
        )

    wait_until(lambda: all_waiting("timed out"), 60, "every reminder to fail on the silent server")
    silent.close()
    wait_until(lambda: all_waiting("refused"), 30, "every reminder to fail on no server at all")

    inbox = Inbox()
    controller = start_smtp(inbox, port)
    try:
        deliver_pending.delay(TODAY.isoformat())  # a second delivery task for each, racing the retries
        wait_until(lambda: Reminder.objects.filter(status="sent").count() == CUSTOMERS, 60, "deliveries")
        time.sleep(2)  # let any retry still queued run: it must find the reminder sent and do nothing
    finally:
        controller.stop()

    reminders = {r.pk: r for r in Reminder.objects.all()}
    assert Counter(inbox.reminder_ids()) == {pk: 1 for pk in reminders}
    assert all(r.last_error == "" and r.sent_at for r in reminders.values())
