"""Write the demo data: segments, demo users, then the accounts chunk by chunk, one COPY per table.

Memory stays bounded by the chunk (a few hundred accounts), and the whole run is one transaction, so
a failed run leaves the database as it was. The rows' ids are handed out while generating (so a
child row knows its parent's without a round trip): the writer reserves them up front, with the
tables locked against other writers until the run commits, and moves the sequences past them at
the end. On PostgreSQL the foreign keys of those tables are dropped for the load and added again at
the end, which checks every row in one pass per key (PostgreSQL's "Populating a Database" advice):
checked row by row at commit they took a quarter of a 20,000-customer run, and the memory of a
queue of twenty million pending checks. Altering them locks those tables against readers too until
the run commits: a seed fills an empty database. The seed is the system's own work on an empty ledger, so
it writes no audit entries and sends no signals; every figure stored with the rows (allocated
amounts, statuses) is generated consistent with the rows it follows from.
"""

import sys
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.color import no_style
from django.db import connection, reset_queries, transaction
from django.utils import timezone
from tqdm import tqdm

from calls.standing import rebuild_all
from creditdesk.roles import sync_roles
from customers.access import Role
from customers.bulk import copy_data, copy_statement, csv_data, insert_rows
from customers.models import Segment
from dunning.models import Policy
from reports.scores import rebuild_worth_it_scores

from .kinds import Kind
from .ledger import TABLES, Rows, World, build_account
from .profiles import SEGMENTS
from .records import Ids

DEMO_PASSWORD = "demo-pass-2026"
# username, role (None: superuser), first name, last name
DEMO_USERS = (
    ("manager", Role.CREDIT_MANAGER, "Maria", "Visser"),
    ("collector", Role.COLLECTOR, "Colin", "Brandt"),
    ("collector2", Role.COLLECTOR, "Chloé", "Martin"),
    ("finance", Role.FINANCE_LEAD, "Fiona", "Walsh"),
    ("integrator", Role.INTEGRATOR, "Ivan", "Novak"),
    ("admin", None, "Ada", "Admin"),
)
CHUNK_ACCOUNTS = 250


@dataclass
class SeedReport:
    """What a run wrote: row counts per table, accounts per kind, and an example account of each kind."""

    counts: Counter = field(default_factory=Counter)
    kinds: Counter = field(default_factory=Counter)
    examples: dict[Kind, str] = field(default_factory=dict)


def seed_demo(*, customers: int, seed: int, today: date, progress: bool = False) -> SeedReport:
    """Create demo users, segments and `customers` accounts with 18 months of history before `today`.

    Same seed and today give the same data. Expects no customers yet (account numbers would clash).
    """
    report = SeedReport()
    with transaction.atomic():
        users = ensure_demo_users()
        world = World(
            seed=seed,
            today=today,
            tz=ZoneInfo(settings.TIME_ZONE),
            segments=ensure_segments(),
            collectors=[users["collector"], users["collector2"]],
            manager=users["manager"],
            created_at=timezone.now(),
        )
        load_dunning_steps(world)
        with_ids = [table for table, names in TABLES if names[0] == table._meta.pk.attname]
        world.ids = Ids(reserve_ids(with_ids))
        bar = tqdm(total=customers, unit="customer", disable=not progress, file=sys.stderr, mininterval=1)
        with foreign_keys_checked_at_the_end([table for table, _ in TABLES]), ChunkWriter() as writer:
            for start in range(0, customers, CHUNK_ACCOUNTS):
                rows = Rows()
                for index in range(start, min(start + CHUNK_ACCOUNTS, customers)):
                    kind = build_account(world, index, rows)
                    report.kinds[kind] += 1
                    report.examples.setdefault(kind, rows.accounts[-1])
                writer.write(rows, report.counts)
                reset_queries()  # with DEBUG on, Django keeps every query's SQL: drop this chunk's
                bar.update(len(rows.accounts))
        bar.close()
        move_sequences_past(with_ids)
        gather_planner_statistics()
        # The rows above went in directly, not through the services that keep the precomputed figures
        # (the worklist's standings, the worth-it scores), so build them once, set-based, in the same
        # transaction, for the day the history ends.
        rebuild_all(as_of=today)
        rebuild_worth_it_scores(today=today)
    return report


def gather_planner_statistics() -> None:
    """ANALYZE the freshly loaded tables (PostgreSQL), in the same transaction as the load.

    Autovacuum would get there minutes later; until then the planner takes every table for empty and
    picks nested loops over a million rows: measured on the 20,000-customer ledger, a dunning batch
    took 9 s instead of 0.4 s and the worth-it rebuild 9.5 s instead of 3.6 s.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def ensure_demo_users() -> dict:
    """The demo users of the README, one per role, with the README's password (created or reset)."""
    sync_roles()  # the role groups, even on a database flushed since migrating
    User = get_user_model()
    groups = {group.name: group for group in Group.objects.all()}
    password = make_password(DEMO_PASSWORD)  # hashed once: hashing is slow on purpose, and these are public
    users = {}
    for username, role, first_name, last_name in DEMO_USERS:
        user, _ = User.objects.update_or_create(
            username=username,
            defaults={
                "first_name": first_name,
                "last_name": last_name,
                "email": f"{username}@creditdesk.example",
                "password": password,
                "is_active": True,
                "is_staff": role in (None, Role.CREDIT_MANAGER),
                "is_superuser": role is None,
            },
        )
        user.groups.set([groups[role.label]] if role else [])
        users[username] = user
    return users


def ensure_segments() -> dict[str, Segment]:
    segments = {}
    for profile in SEGMENTS:
        segment, _ = Segment.objects.get_or_create(
            name=profile.name,
            defaults={
                "description": profile.description,
                "lateness_threshold_days": profile.lateness_threshold_days,
            },
        )
        segments[profile.name] = segment
    return segments


def load_dunning_steps(world: World) -> None:
    """Steps of the default policy and of segment policies, if any exist (the dunning app seeds them)."""
    for policy in Policy.objects.select_related("segment").prefetch_related("steps"):
        if not policy.is_default and policy.segment is None:
            continue
        key = policy.segment.name if policy.segment else None
        world.steps[key] = sorted(policy.steps.all(), key=lambda step: step.offset_days)
        world.business_days_only[key] = policy.business_days_only


def reserve_ids(tables: list) -> dict:
    """The first id each table's new rows take; on PostgreSQL the tables stay locked against other
    writers until the run commits, so no one else takes those ids."""
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    first = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = ", ".join(quote(table._meta.db_table) for table in tables)
            cursor.execute(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE")
        for table in tables:
            db_table, pk = table._meta.db_table, table._meta.pk.column
            if connection.vendor == "postgresql":
                cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s))", [quote(db_table), pk])
            else:  # SQLite: one writer at a time, and the run's transaction holds the write lock
                cursor.execute(f"SELECT coalesce(max({quote(pk)}), 0) + 1 FROM {quote(db_table)}")
            first[table] = cursor.fetchone()[0]
    return first


@contextmanager
def foreign_keys_checked_at_the_end(tables: list):
    """On PostgreSQL: drop the foreign keys of `tables`, and add them again (checking every row) after.

    Inside the run's transaction: if anything fails, the rollback restores them as they were. Checks
    already pending from earlier in the transaction run first (PostgreSQL refuses to alter a table
    with pending checks), as Django's own `check_constraints` does.
    """
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        yield
        return
    quote = connection.ops.quote_name
    connection.check_constraints()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) ORDER BY 1, 2",
            [[quote(table._meta.db_table) for table in tables]],
        )
        keys = cursor.fetchall()
        for table, name, _ in keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
    yield
    with connection.cursor() as cursor:
        for table, name, definition in keys:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")


def move_sequences_past(tables: list) -> None:
    """Set each table's id sequence after the largest id, so the next ordinary insert does not clash."""
    connection = transaction.get_connection()
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), tables):
            cursor.execute(sql)


class ChunkWriter:
    """Writes each chunk, table by table, parents first (foreign keys are checked at the end anyway).

    On PostgreSQL a chunk's COPYs run in a thread while the main thread generates the next chunk, so
    the database works on one core while Python generates on the other. Still one connection and
    one transaction: the main thread does not use the database until `wait` says the COPYs are done,
    and at most one chunk is in flight (memory stays bounded by two chunks).
    """

    def __init__(self):
        self.connection = transaction.get_connection()
        self.threaded = self.connection.vendor == "postgresql"
        self.pending: Future | None = None
        if self.threaded:
            self.connection.ensure_connection()
            self.statements = {table: copy_statement(table, names) for table, names in TABLES}
            self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-copy")

    def __enter__(self):
        return self

    def __exit__(self, *error) -> None:
        if self.threaded:
            self.pool.shutdown(wait=True)  # never leave a COPY running on the connection
            if error[0] is None:
                self.wait()

    def write(self, rows: Rows, counts: Counter) -> None:
        batches = [(table, names, rows.tables[table]) for table, names in TABLES if rows.tables.get(table)]
        for table, _, batch in batches:
            counts[table._meta.label] += len(batch)
        if not self.threaded:
            for table, names, batch in batches:
                insert_rows(table, names, batch)
            return
        data = [(self.statements[table], csv_data(batch)) for table, _, batch in batches]
        self.wait()
        self.pending = self.pool.submit(self.copy, data)

    def copy(self, data: list[tuple[str, bytes]]) -> None:
        with self.connection.connection.cursor() as cursor:  # psycopg2's own: Django's is per thread
            for statement, chunk in data:
                copy_data(cursor, statement, chunk)

    def wait(self) -> None:
        """Until the chunk in flight is written; raises what its COPY raised."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()
