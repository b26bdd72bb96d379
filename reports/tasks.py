"""Celery tasks of the reports app: thin, idempotent wrappers."""

from datetime import date

from celery import shared_task
from django.utils import timezone

from . import channels, snapshots


@shared_task(acks_late=True)
def refresh_snapshots(today: str | None = None) -> dict:
    """Nightly (beat): yesterday's snapshot and every invalidated day since the earliest kept.

    A repeat finds everything filled and writes nothing."""
    day = date.fromisoformat(today) if today else timezone.localdate()
    filled = snapshots.refresh(today=day)
    # After the ledger snapshots: a regrouping there drops the channel months too.
    return {**filled, "channel_months": channels.refresh(today=day)}
