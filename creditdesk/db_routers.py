"""The database router: report reads to the read replica, everything else to the primary.

Listed in DATABASE_ROUTERS always; it only acts when settings.REPORT_READS_DATABASE names a replica
alias (DATABASE_REPLICA_URL is set). Without one every method answers None, Django's own routing.

- Reads go to the replica only inside `reports.replica.reading_reports()`, which the reports pages
  and the reports API enter around their reads (GET only). Not every read: the worklist, the customer
  page and every write path read the primary, so replication lag never shows a person stale data
  right after their own change.
- Writes always go to the primary (a streaming replica is read-only anyway).
- Migrations run on the primary only: the replica gets the schema by replication.
- Relations between objects read from either alias are allowed: they are the same rows.
- A replica that cannot be reached is not a failed report: the reads go to the primary (logged), and
  the replica is not tried again for REPLICA_RETRY_SECONDS, so a replica that is down costs one
  connect timeout, not one per request. A replica that dies in the middle of a report fails that
  request like any database fault (503, creditdesk.middleware); the next one falls back.
"""

import logging
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from reports.replica import is_reading_reports, replica_database

logger = logging.getLogger(__name__)

# time.monotonic() before which the replica is not tried (it was unreachable).
_replica_down_until = 0.0


class ReportReplicaRouter:
    def db_for_read(self, model, **hints) -> str | None:
        alias = replica_database()
        if alias is None or not is_reading_reports():
            return None
        return alias if replica_reachable(alias) else DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints) -> str | None:
        return DEFAULT_DB_ALIAS if replica_database() is not None else None

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        return True if replica_database() is not None else None

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool | None:
        alias = replica_database()
        return False if alias is not None and db == alias else None


def replica_reachable(alias: str) -> bool:
    """Whether `alias` can be read now: connected already, or connects within its connect_timeout."""
    global _replica_down_until
    if time.monotonic() < _replica_down_until:
        return False
    try:
        connections[alias].ensure_connection()
    except DatabaseError as error:
        _replica_down_until = time.monotonic() + settings.REPLICA_RETRY_SECONDS
        logger.warning(
            "Read replica %r unreachable, report reads go to the primary for %s s: %s",
            alias,
            settings.REPLICA_RETRY_SECONDS,
            error,
        )
        return False
    return True
