"""Celery tasks of the dunning run: thin, idempotent wrappers around services and delivery.

`run_dunning` (daily, Celery beat) fans the customers out in batches; each batch creates its
reminders and queues their deliveries; `deliver_pending` (every ten minutes, and after each daily
run) picks up anything whose delivery message was lost, e.g. with a worker killed mid-run.

`catch_up_dunning` (every ten minutes) runs the day's run when the one at DUNNING_RUN_HOUR never got
queued: beat advances its schedule before sending and only logs a failed send, so with Redis down at
that minute the day's run was otherwise lost until the next morning.
"""

import random
from datetime import date, datetime, timedelta

from celery import chord, current_app, group, shared_task
from celery.backends.base import DisabledBackend
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError
from django.utils import timezone

from . import selectors, services
from .delivery import DeliveryFailed, deliver


def day_of(today: str | None) -> date:
    return date.fromisoformat(today) if today else timezone.localdate()


@shared_task(acks_late=True)
def run_dunning(today: str | None = None) -> dict:
    """Fan one day's run out to the workers: one task per DUNNING_BATCH_SIZE customers with a step
    due or an agreement to settle today (services.customers_to_run).

    Once every batch has settled today's agreements, a last task makes the day's prepayment proposals
    over every customer (a chord, with a result backend; without one, it is queued after the batches
    and may miss what the last of them breaks, which the next day's run picks up). Returns the number
    of batches and the id of that last task, whose result says when the whole run is done.
    """
    day = day_of(today).isoformat()
    batches = services.customer_batches(today=day_of(day))  # only customers with something to do
    header = group([remind_customers.si(customer_ids, day) for customer_ids in batches])
    last = propose_prepayment.si(day)
    if can_join():
        done = chord(header)(last)
    else:
        header.apply_async()
        done = last.apply_async()
    deliver_pending.delay(day)
    cache.set(run_marker(day_of(day)), True, timeout=int(timedelta(days=2).total_seconds()))
    return {"batches": len(header.tasks), "done": done.id}


# PostgreSQL's codes for a transaction it rolled back because it lost a race with another one.
LOST_A_RACE = {"40P01", "40001"}  # deadlock detected, serialization failure


def lost_a_race(error: OperationalError) -> bool:
    cause = error.__cause__
    return (getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)) in LOST_A_RACE


@shared_task(bind=True, acks_late=True, ignore_result=False, max_retries=5)
def remind_customers(self, customer_ids: list[int], today: str) -> dict:
    """One batch of the day's run (agreements settled, reminders created) and its deliveries queued
    as one task. A redelivered or repeated batch creates nothing new.

    Batches run side by side on the workers, and the figures a batch's changes restate (a payment's
    re-rank of worth-it scores, say) can take row locks in another order than a neighbour's: should
    PostgreSQL break such a deadlock by rolling this batch back, the batch (all or nothing, idempotent)
    runs again a moment later instead of failing the day's run.
    """
    try:
        result = services.run_dunning_batch(customer_ids=customer_ids, today=day_of(today), propose=False)
    except OperationalError as error:
        if not lost_a_race(error):
            raise
        raise self.retry(
            exc=error, countdown=random.uniform(0.2, 1.0) * (self.request.retries + 1)
        ) from error
    created = result.created_reminder_ids
    if created:
        deliver_reminders.delay(created)
    return {
        "reminders_created": len(created),
        "agreements_broken": len(result.broken),
        "agreements_kept": len(result.kept),
    }


@shared_task(bind=True, acks_late=True, ignore_result=False)
def propose_prepayment(self, today: str) -> int:
    """The day's prepayment proposals over every customer: the candidates found in one statement,
    then their chunks proposed side by side on the workers (services.proposal_chunks). The task is
    replaced by a chord of the chunks and their sum, which takes over its id, so its result (how many
    were made) is ready when the last chunk is done, as the run's callers expect. One chunk, or no
    result backend to join them: the chunks one after the other, here."""
    chunks = services.proposal_chunks(today=day_of(today))
    if len(chunks) < 2 or not can_join():
        return services.propose_prepayment_in_turn(chunks, today=day_of(today))
    return self.replace(chord([propose_prepayment_chunk.si(chunk, today) for chunk in chunks], total.s()))


@shared_task(acks_late=True, ignore_result=False)
def propose_prepayment_chunk(customer_ids: list[int], today: str) -> int:
    """One chunk of the day's proposals; a repeat proposes nobody twice (open proposals are left)."""
    return services.propose_prepayment_chunk(customer_ids=customer_ids, today=day_of(today))


@shared_task(ignore_result=False)
def total(counts: list[int]) -> int:
    return sum(counts)


def can_join() -> bool:
    """Whether a chord can wait for its header: eagerly, or with a result backend."""
    return current_app.conf.task_always_eager or not isinstance(current_app.backend, DisabledBackend)


def run_marker(day: date) -> str:
    return f"dunning:run-queued:{day.isoformat()}"


@shared_task(acks_late=True)
def catch_up_dunning(now: str | None = None) -> bool:
    """Run today's dunning if it is past DUNNING_RUN_HOUR and no run of today was queued yet.

    The mark is kept in the cache: should it be lost (Redis flushed or down), the run is done once
    more, which creates nothing new (a day's run is idempotent). Only today is run, never a missed
    yesterday: today's run gives each invoice the step it has reached, missed days included, whereas
    running yesterday too would send two steps on consecutive days.
    """
    moment = datetime.fromisoformat(now) if now else timezone.localtime()
    if moment.hour < settings.DUNNING_RUN_HOUR or cache.get(run_marker(moment.date())):
        return False
    run_dunning(moment.date().isoformat())
    return True


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
    services.release_stale_claims()
    reminder_ids = selectors.reminders_to_deliver(today=day_of(today))
    size = settings.DUNNING_BATCH_SIZE
    for start in range(0, len(reminder_ids), size):
        deliver_reminders.delay(reminder_ids[start : start + size])
    return len(reminder_ids)


@shared_task(acks_late=True)
def deliver_reminders(reminder_ids: list[int]) -> int:
    """Deliver a batch's new reminders in one task (thousands of single-reminder messages cost more
    to publish and consume than to send); one that fails is handed to deliver_reminder, whose retries
    back off. Returns how many were handed over."""
    handed_over = 0
    for reminder_id in reminder_ids:
        try:
            deliver(reminder_id, final_attempt=False)
        except DeliveryFailed:
            deliver_reminder.apply_async((reminder_id,), countdown=backoff(0))
            handed_over += 1
    return handed_over


@shared_task(bind=True, acks_late=True, max_retries=None)
def deliver_reminder(self, reminder_id: int) -> str:
    """Deliver one reminder; on failure retry with exponential backoff, failed after the last try."""
    final = self.request.retries >= settings.DUNNING_DELIVERY_MAX_RETRIES
    try:
        return deliver(reminder_id, final_attempt=final).status
    except DeliveryFailed as error:
        if final:
            return "failed"
        raise self.retry(exc=error, countdown=backoff(self.request.retries)) from error


def backoff(retries: int) -> int:
    """Seconds before the next try: exponential from 30 s, capped, with full jitter."""
    return get_exponential_backoff_interval(
        factor=30, retries=retries, maximum=settings.DUNNING_RETRY_BACKOFF_MAX, full_jitter=True
    )
