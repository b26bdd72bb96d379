"""Celery tasks of the reports app: thin wrappers around `reports.scores`."""

import logging
from datetime import date

from celery import shared_task
from django.utils import timezone

from .scores import rebuild_worth_it_scores

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def rebuild_worth_it(today: str | None = None) -> int:
    """Nightly (Celery beat): the 12-month window moved a day, so every score is recomputed; the rows
    that differ are rewritten and counted (a row that differs other than by its day is drift, logged).
    Idempotent: a repeat on the same day writes nothing."""
    day = date.fromisoformat(today) if today else timezone.localdate()
    result = rebuild_worth_it_scores(today=day)
    logger.info(
        "worth-it scores as of %s: %s customers, %s rows rewritten", day, result.customers, result.written
    )
    return result.written
