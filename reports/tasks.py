"""Celery tasks of the reports app: thin, idempotent wrappers around `reports.scores`,
`reports.snapshots` and `reports.channels`."""

import logging
from datetime import date

from celery import shared_task
from django.utils import timezone

from . import channels, debt_bands, snapshots
from .scores import rebuild_worth_it_scores

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def rebuild_worth_it(today: str | None = None) -> int:
    """Nightly (Celery beat): the 12-month window moved a day, so every score is recomputed; the rows
    that differ are rewritten and counted (a row that differs other than by its day is drift, logged).
    The debt-band rows (reports/debt_bands.py) roll to the new day with them.
    Idempotent: a repeat on the same day writes nothing."""
    day = date.fromisoformat(today) if today else timezone.localdate()
    result = rebuild_worth_it_scores(today=day)
    banded = debt_bands.rebuild_debt_bands(today=day)
    logger.info(
        "worth-it scores as of %s: %s customers, %s rows rewritten; debt bands of %s customers rewritten",
        day, result.customers, result.written, len(banded),
    )  # fmt: skip
    return result.written


@shared_task(acks_late=True)
def refresh_snapshots(today: str | None = None) -> dict:
    """Nightly (beat): yesterday's snapshot and every invalidated day since the earliest kept.

    A repeat finds everything filled and writes nothing."""
    day = date.fromisoformat(today) if today else timezone.localdate()
    filled = snapshots.refresh(today=day)
    # After the ledger snapshots: a regrouping there drops the channel months and days too.
    return {
        **filled,
        "channel_months": channels.refresh(today=day),
        "channel_days": channels.refresh_days(today=day),
    }


@shared_task(acks_late=True)
def refresh_backtest(
    as_of: str | None = None, currency: str | None = None, segment_id: int | None = None,
    collector_id: int | None = None,
) -> int:  # fmt: skip
    """Compute the 26-week backtest and keep it in the cache for a day (reports/foresight.py): queued
    by the dashboard or the API when it is missing, and nightly for the whole ledger. Idempotent."""
    from .foresight import fill_backtest

    day = date.fromisoformat(as_of) if as_of else timezone.localdate()
    filters = {"as_of": day, "currency": currency, "segment_id": segment_id, "collector_id": collector_id}
    return len(fill_backtest(filters))


@shared_task(acks_late=True)
def rebuild_early_warnings(today: str | None = None) -> int:
    """Nightly (beat): every customer's early warning as of the new day (the 3- and 12-month windows
    moved). Idempotent: a repeat writes the same rows."""
    from .early_warning import refresh_early_warnings

    day = date.fromisoformat(today) if today else timezone.localdate()
    return refresh_early_warnings(today=day)


@shared_task(acks_late=True)
def rebuild_spreads(customer_ids: list[int], today: str) -> int:
    """After a bulk write (reports/spreads.py keep_spreads): re-keep its customers' forecast spreads and
    any marked stale. Idempotent: a repeat writes the same rows."""
    from .spreads import refresh_stale_spreads

    return refresh_stale_spreads(customer_ids, as_of=date.fromisoformat(today))


@shared_task(acks_late=True)
def rebuild_lateness(today: str | None = None) -> int:
    """Nightly (beat): every customer's days-late bins as of the new day (the 12-month window moved),
    then their forecast spreads from them (the weeks moved), so the forecast reads both
    (reports/lateness.py, reports/spreads.py). Idempotent: a repeat writes the same rows. Returns the
    rows kept."""
    from .lateness import refresh_lateness
    from .spreads import refresh_spreads

    day = date.fromisoformat(today) if today else timezone.localdate()
    return refresh_lateness(as_of=day) + refresh_spreads(as_of=day)
