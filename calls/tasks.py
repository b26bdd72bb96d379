"""Celery tasks of the calls app: keeping the worklist's precomputed standings (calls.standing).

Both are idempotent: running either twice leaves the same rows.
"""

import logging
from datetime import date

from celery import shared_task
from django.utils import timezone

from . import standing

logger = logging.getLogger(__name__)


def day_of(today: str | None) -> date:
    return date.fromisoformat(today) if today else timezone.localdate()


@shared_task(acks_late=True)
def roll_standings_forward(today: str | None = None) -> int:
    """Daily, just after midnight: restate the rows whose overdue amount went stale with the date,
    so the worklist reads them from the table instead of computing them live. Returns how many."""
    count = standing.roll_forward(today=day_of(today))
    logger.info("standings rolled forward: %d", count)
    return count


@shared_task(acks_late=True)
def check_standings(today: str | None = None) -> int:
    """Nightly: compare every standing with a full recomputation, log the drift, repair it.

    Returns how many customers drifted (0 on a healthy night): a non-zero count means some write
    path changed the ledger without announcing it (customers.signals), which is a bug to find.
    """
    drift = standing.check_and_repair(today=day_of(today))
    return len(drift.customer_ids)
