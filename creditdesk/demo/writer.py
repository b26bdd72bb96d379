"""Write the demo data: segments, demo users, then the accounts chunk by chunk with bulk inserts.

Memory stays bounded by the chunk (a few hundred accounts), and the whole run is one transaction, so
a failed run leaves the database as it was.
"""

import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, reset_queries, transaction
from tqdm import tqdm

from agreements.models import Agreement, Instalment
from calls.models import Complaint, Excuse, Interaction, Task
from creditdesk.roles import sync_roles
from customers.access import Role
from customers.models import Contact, Customer, Segment
from dunning.models import Policy, Reminder, ReminderInvoice
from invoices.models import Allocation, Invoice, Payment

from .kinds import Kind
from .ledger import Rows, World, build_account
from .profiles import SEGMENTS

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
        )
        load_dunning_steps(world)
        bar = tqdm(total=customers, unit="customer", disable=not progress, file=sys.stderr, mininterval=1)
        for start in range(0, customers, CHUNK_ACCOUNTS):
            rows = Rows()
            for index in range(start, min(start + CHUNK_ACCOUNTS, customers)):
                kind = build_account(world, index, rows)
                report.kinds[kind] += 1
                report.examples.setdefault(kind, str(rows.customers[-1]))
            write_rows(rows, report.counts)
            reset_queries()  # with DEBUG on, Django keeps every query's SQL: drop this chunk's
            bar.update(len(rows.customers))
        bar.close()
    return report


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


def write_rows(rows: Rows, counts: Counter) -> None:
    """Bulk-insert one chunk, parents first, so each child picks up its parent's new primary key."""
    plan = (
        (Customer, rows.customers),
        (Contact, rows.contacts),
        (Invoice, rows.invoices),
        (Payment, rows.payments),
        (Allocation, rows.allocations),
        (Agreement, rows.agreements),
        (Instalment, rows.instalments),
        (Interaction, rows.interactions),
        (Excuse, rows.excuses),
        (Complaint, rows.complaints),
        (Task, rows.tasks),
        (Reminder, rows.reminders),
        (ReminderInvoice, rows.reminder_lines),
    )
    for model, objects in plan:
        insert(model, objects, counts)
    links = (
        (Agreement.invoices.through, "agreement", rows.agreement_invoices),
        (Excuse.invoices.through, "excuse", rows.excuse_invoices),
        (Complaint.invoices.through, "complaint", rows.complaint_invoices),
    )
    for through, owner, pairs in links:
        insert(
            through,
            [through(**{f"{owner}_id": left.pk, "invoice_id": right.pk}) for left, right in pairs],
            counts,
        )


def insert(model, objects: list, counts: Counter) -> None:
    if not objects:
        return
    # PostgreSQL takes big batches well; SQLite's variable limit is handled by Django's own batching.
    batch_size = 2000 if connection.vendor == "postgresql" else None
    model.objects.bulk_create(objects, batch_size=batch_size)
    counts[model._meta.label] += len(objects)
