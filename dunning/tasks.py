"""Celery tasks of the dunning run: thin, idempotent wrappers around services and delivery.

`run_dunning` (daily, Celery beat) fans the customers out in batches; each batch creates its
reminders and queues their deliveries; `deliver_pending` (every ten minutes, and after each daily
run) picks up anything whose delivery message was lost, e.g. with a worker killed mid-run.
"""

from datetime import date

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.utils import timezone

from . import services
from .delivery import DeliveryFailed, deliver


def day_of(today: str | None) -> date:
    return date.fromisoformat(today) if today else timezone.localdate()


@shared_task(acks_late=True)
def run_dunning(today: str | None = None) -> int:
    """Queue one batch task per DUNNING_BATCH_SIZE customers for `today` (ISO date; default: today)."""
    day = day_of(today)
    batches = 0
    for customer_ids in services.customer_batches():
        run_dunning_batch.delay(customer_ids, day.isoformat())
        batches += 1
    deliver_pending.delay(day.isoformat())
    return batches


@shared_task(acks_late=True)
def run_dunning_batch(customer_ids: list[int], today: str) -> dict:
    """One batch of one day's run; a redelivered or repeated batch creates nothing new."""
    result = services.run_dunning_batch(customer_ids=customer_ids, today=day_of(today))
    for reminder_id in result.created_reminder_ids:
        deliver_reminder.delay(reminder_id)
    return {
        "reminders_created": len(result.created_reminder_ids),
        "agreements_broken": len(result.broken),
        "agreements_kept": len(result.kept),
    }


@shared_task(acks_late=True)
def deliver_pending(today: str | None = None) -> int:
    """Queue the delivery of every reminder still pending up to `today`, and of stale claims."""
    reminder_ids = services.reminders_to_deliver(today=day_of(today))
    for reminder_id in reminder_ids:
        deliver_reminder.delay(reminder_id)
    return len(reminder_ids)


@shared_task(bind=True, acks_late=True, max_retries=None)
def deliver_reminder(self, reminder_id: int) -> str:
    """Deliver one reminder; on failure retry with exponential backoff, failed after the last try."""
    final = self.request.retries >= settings.DUNNING_DELIVERY_MAX_RETRIES
    try:
        return deliver(reminder_id, final_attempt=final).status
    except DeliveryFailed as error:
        if final:
            return "failed"
        countdown = get_exponential_backoff_interval(
            factor=30,
            retries=self.request.retries,
            maximum=settings.DUNNING_RETRY_BACKOFF_MAX,
            full_jitter=True,
        )
        raise self.retry(exc=error, countdown=countdown) from error
