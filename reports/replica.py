"""Which reads may go to the read replica: report reads, marked explicitly, and nothing else.

With DATABASE_REPLICA_URL set (settings.REPORT_READS_DATABASE names the alias), every query made
inside `reading_reports()` is sent to the replica by the router (creditdesk/db_routers.py). The
reports pages and the reports API enter it around their reads; nothing else does. The worklist, the
customer page, the lists, services and tasks read the primary, so a person always sees their own
change at once, whatever the replica's lag.

A report a person asks for right after changing something (a credit manager records a payment and
opens the dashboard; saves the worth-it weights and is sent back to the ranking) is read from the
primary too: every successful change marks its author for REPLICA_PIN_SECONDS
(creditdesk.middleware.ReplicaPinMiddleware), longer than the replica ever lags in normal running.

The mark lives here, in the reports app, because reports is the one app that uses it (and apps may
not import `creditdesk`); the router that acts on it is the project's.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.core.cache import cache

_reading_reports: ContextVar[bool] = ContextVar("reading_reports", default=False)


def replica_database() -> str | None:
    """The alias report reads go to, or None when there is no replica (everything on the primary)."""
    return getattr(settings, "REPORT_READS_DATABASE", None)


@contextmanager
def reading_reports(*, user=None) -> Iterator[None]:
    """Send every read inside to the replica (when there is one), unless `user` changed something
    in the last REPLICA_PIN_SECONDS: they read the primary, so they see their own change."""
    if replica_database() is None or (user is not None and wrote_recently(user)):
        yield
        return
    token = _reading_reports.set(True)
    try:
        yield
    finally:
        _reading_reports.reset(token)


def is_reading_reports() -> bool:
    """True inside `reading_reports()` (the router asks)."""
    return _reading_reports.get()


def _pin_key(user) -> str:
    return f"replica-pin:{user.pk}"


def note_write(user) -> None:
    """Remember that `user` just changed something: their report reads stay on the primary a while."""
    if replica_database() is not None and getattr(user, "is_authenticated", False):
        cache.set(_pin_key(user), True, settings.REPLICA_PIN_SECONDS)


def wrote_recently(user) -> bool:
    # With the cache (Redis) down this answers False (django-redis ignores the error): the report is
    # read from the replica, at worst a second behind.
    return bool(getattr(user, "is_authenticated", False) and cache.get(_pin_key(user)))
