"""The day's run fanned out to a real Celery worker on Redis: batches, the chord that ends the run,
deliveries on their own queue, and a same-day repeat that creates and sends nothing."""

import datetime as dt

import pytest

from dunning.models import Proposal, Reminder
from dunning.services import ensure_standard_policy
from tests.factories import CustomerFactory, InvoiceFactory
from tests.integration.conftest import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DUE = dt.date(2026, 11, 2)
DAY = DUE + dt.timedelta(days=3)


def test_the_run_on_a_worker_reminds_every_customer_once_and_a_repeat_adds_nothing(
    start_worker, smtp_inbox, tmp_path, settings
):
    from celery.result import AsyncResult

    from dunning.tasks import run_dunning

    settings.DUNNING_BATCH_SIZE = 4  # the coordinator runs in this process; batches of 4, 4, 1
    ensure_standard_policy()
    owing = CustomerFactory.create_batch(9)
    for customer in owing:
        InvoiceFactory(customer=customer, due_date=DUE)
    start_worker("fan-out", EMAIL_PORT=str(smtp_inbox.port))

    def whole_run() -> dict:
        # The coordinator runs here; its batches, proposals and the chord's last task on the worker.
        outcome = run_dunning.apply(args=(DAY.isoformat(),)).get()
        assert AsyncResult(outcome["done"]).get(timeout=90) == 0  # no agreement broken, no proposal
        return outcome

    assert whole_run()["batches"] == 3
    assert sorted(Reminder.objects.values_list("customer_id", flat=True)) == sorted(c.pk for c in owing)
    wait_until(lambda: len(smtp_inbox.messages) == 9, 60, f"every reminder mailed (logs: {tmp_path})")

    whole_run()
    assert Reminder.objects.count() == 9 and Proposal.objects.count() == 0
    assert Reminder.objects.filter(status="sent").count() == 9
    assert sorted(smtp_inbox.reminder_ids()) == sorted(Reminder.objects.values_list("pk", flat=True))


def test_the_run_ends_when_the_last_chunk_of_proposals_is_made(start_worker, settings):
    """The last task hands its chunks of candidates to the workers; the run's result waits for them."""
    from celery.result import AsyncResult

    from dunning.tasks import run_dunning
    from tests.dunning.test_fan_out import late_payer

    ensure_standard_policy()
    late = [late_payer() for _ in range(3)]
    start_worker("proposals", DUNNING_PROPOSAL_CHUNK="1")  # a task per candidate

    outcome = run_dunning.apply(args=(DAY.isoformat(),)).get()
    assert AsyncResult(outcome["done"]).get(timeout=90) == 3
    assert sorted(Proposal.objects.values_list("customer_id", flat=True)) == sorted(c.pk for c in late)
