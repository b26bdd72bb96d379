"""When a cached dashboard section goes stale: per fact it reads, and per day it covers.

A section shown as of day `D` changes only when a fact it reads changes on or before `D` (the
ledger figures, effort, excuses, debt bands and the portal's uptake are built from rows dated up to
`D`; the channels' follow-through from payments up to a week after it: SECTION_REACH). So a logged call does
not stale the aging, and the morning's payments, dated today, do not stale last month's dashboard:
with one version for the whole ledger, every write emptied every section, and under a working day's
writes (a call or a payment every few seconds) the finance leads recomputed almost every section
they opened.

How: every announced change (`customers.signals.customer_facts_changed`) sets, once its transaction
commits, a new random stamp on a few cache keys of each fact it names: the year, the month and the
day of its earliest day, and LATEST. A section's stamp, part of its cache key, is the digest of the keys
that cover every day up to `D` (the years before `D`'s, the months of its year before its month, the
days of its month up to `D`, and ANY) for each fact it reads. A change dated after `D` touches none of
them. A change with no earliest day, and any change to a customer's own fields, sets ANY, read for
every day. A section not listed in SECTION_FACTS reads LATEST of every fact: any change stales it.
A random stamp (not a counter) is never reused, so a key lost from the cache reads as a change too.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from customers.models import Customer

from .channels import CHANNEL_FACTS, FOLLOW_THROUGH_DAYS
from .debt_bands import BAND_FACTS
from .ledger import EARLIEST_AS_OF
from .scores import FACT_SOURCES

ANY = "any"  # set by a change that can move any day
LATEST = "latest"  # set by every change: what a section read whole (no day) looks at
EVERYTHING = "*"  # the word for a change naming no fact, or one this module does not know
LEDGER = frozenset({"invoices", "new_invoices", "payments", "customer"})
# The facts (customers.signals) each section reads; a section missing here reads every fact, whole.
SECTION_FACTS: dict[str, frozenset[str]] = {
    "headline": LEDGER,
    "aging": LEDGER,
    "trend": LEDGER,
    "breakdown": LEDGER,
    # Minutes logged and money received in the window (payments also move when invoices change).
    "effort": frozenset({"contacts", "payments", "invoices", "customer"}),
    # Excuses, rejected complaints, the reminder before each and the first payment after it.
    "excuses": frozenset({"excuses", "complaints", "reminders", "payments", "customer"}),
    "excuses-said": frozenset({"excuses", "customer"}),  # the excuses' mix and repeats, apart
    "debt-bands": frozenset(BAND_FACTS),
    "channels": frozenset(CHANNEL_FACTS | {"customer"}),
    # Disputes, promises and plans made, and answers to reminders (interactions): no money.
    "portal": frozenset({"complaints", "agreements", "contacts", "reminders", "customer"}),
}
# Days after the day shown whose changes a section reads: a contact is followed through by a payment
# up to FOLLOW_THROUGH_DAYS later.
SECTION_REACH = {"channels": FOLLOW_THROUGH_DAYS}
# Every word a lower app announces (the worth-it scores map each to what it moves).
KNOWN_FACTS = frozenset(FACT_SOURCES) | {"customer"}


def note_change(*, facts, earliest_day: date | None) -> None:
    """Stale what this change can move, once the writer's transaction commits (before it, a reader
    could still file the old figures under the new stamp)."""
    words = set(facts) if facts and set(facts) <= KNOWN_FACTS else {EVERYTHING}
    stamp = uuid.uuid4().hex
    stamps = {
        _key(word, bucket): stamp
        for word in words
        for bucket in _buckets_of(None if word == "customer" else earliest_day)
    }
    transaction.on_commit(lambda: cache.set_many(stamps, None))


def section_stamp(name: str, as_of: date) -> str:
    """The stamp of section `name` shown as of `as_of`."""
    return stamp(SECTION_FACTS.get(name), as_of + timedelta(days=SECTION_REACH.get(name, 0)))


def stamp(facts: frozenset[str] | None, as_of: date) -> str:
    """The digest of the stamps of every change to `facts` (None: to anything, any day) that can have
    moved a figure shown as of `as_of`, and of the newest change to a customer (`updated_at`, which a
    reassignment moves: the figures are grouped by each customer's segment and collector now)."""
    if facts is None:
        keys = [_key(word, LATEST) for word in sorted(KNOWN_FACTS | {EVERYTHING})]
    elif as_of >= timezone.localdate():
        # Every change sets LATEST, and the day's work is dated on or before today: for today the keys
        # of every day up to it (some forty per fact) name the same changes as LATEST alone, which is
        # what every open dashboard section reads on each request.
        keys = [_key(word, LATEST) for word in sorted(facts | {EVERYTHING})]
    else:
        buckets = _buckets_through(as_of)
        keys = [_key(word, bucket) for word in sorted(facts | {EVERYTHING}) for bucket in buckets]
    found = cache.get_many(keys)
    described = "|".join(f"{key}={found.get(key)}" for key in keys)
    return hashlib.sha256(f"{described}|{customers_changed()}".encode()).hexdigest()[:32]


def customers_changed():
    """When a customer last changed (an index read: `customer_updated_at`)."""
    return Customer.objects.aggregate(latest=Max("updated_at"))["latest"]


def _key(word: str, bucket: str) -> str:
    return f"reports:changed:{word}:{bucket}"


def _buckets_of(day: date | None) -> list[str]:
    if day is None:
        return [ANY, LATEST]
    day = max(day, EARLIEST_AS_OF)
    return [f"y{day.year}", f"m{day.year}-{day.month:02d}", f"d{day.isoformat()}", LATEST]


def _buckets_through(day: date) -> list[str]:
    """The buckets a change dated on or before `day` sets (one of each change's three), and ANY."""
    day = max(day, EARLIEST_AS_OF)
    first_of_month = day.replace(day=1)
    return [
        ANY,
        *(f"y{year}" for year in range(EARLIEST_AS_OF.year, day.year)),
        *(f"m{day.year}-{month:02d}" for month in range(1, day.month)),
        *(f"d{(first_of_month + timedelta(days=n)).isoformat()}" for n in range(day.day)),
    ]
