"""The precomputed per-customer standing behind the worklist: computed, kept in step, rebuilt, checked.

Why: the worklist must pick, from every customer in a portfolio, those that need action today and
sort them by priority. Computing that from a million invoices, interactions, agreements and tasks on
every page (a dozen correlated subqueries per customer) took ~1.9 s on 20,000 customers. Instead one
`Standing` row per customer (calls.models) holds the facts those reasons are made of, and the worklist
joins it: a page reads 20,000 narrow rows, never the ledger.

What is stored, and how each reason of the worklist follows from it (`calls.selectors`; the live
definitions are `live_worklist_facts` below, and the tests prove both equal):

- `oldest_open_due_on`: earliest due date of open (so undisputed) invoices with money open, any
  currency. The worklist's "oldest overdue due date" is it when it is before today, else none (the
  earliest of the overdue ones is the earliest of all whenever any is overdue).
- `overdue_amount` as of `overdue_as_of`, `next_due_on`: see the model. Exact from `overdue_as_of`
  through `next_due_on`; outside, the selector's fallback computes that row live.
- `last_contact_at`: latest interaction. "Quiet" and "not contacted today" compare it to today.
- `latest_broken_on`: closed_on of the latest broken agreement. "Broken and unhandled" (some broken
  agreement closed in the window with no interaction since its day) holds exactly when the latest one
  closed in the window and the last contact is before its day: if any qualifies, the latest does.
- `has_active_agreement`.
- `first_open_task_on` / `last_open_task_on`: an open task due by today exists iff the first is <=
  today; one planned later exists iff the last is > today.
- "Paying worse than usual" is the reports app's kept `EarlyWarning` row (its own definition, in
  reports/early_warning.py; a customer with a row is flagged), read through the reverse one-to-one
  in both paths, with the same "quiet" rule as the overdue reason: a call answers it for a week.
  When reports rewrites a warning it restates that customer's day here (`restate_day`).
- `worth_it_score`: the reports app's kept worth-it score, copied (as `collector` is) so the worklist
  sorted or filtered by it is an index range of its own (`standing_*_worth_it`), not a join to every
  kept score. reports/scores.py writes it with the score, in the same transaction
  (`keep_worth_it_scores`); a refresh or rebuild here copies it too, and the drift check compares it.
- "Promise falls due today" (a pending instalment of an active agreement due exactly today) is not
  stored: no min or max answers "exactly today", and the instalments due on one day are few, so the
  selector reads them with one uncorrelated (hashed) subquery.

The day's worklist (`Standing.DAY`): which customers need action on `priority_as_of`, why, and their
priority. Everything else moves with the calendar only through that day (days-late points, the overdue
amount, the windows of the reasons), so it is stored for one day and restated by every refresh (as of
today) and by the daily roll (every row, just after midnight). The columns are computed by the same
SQL as the live path (`selectors.with_worklist_facts` over the facts just stored), never by a second
definition; an index on (priority_as_of, -priority, overdue_since, customer) makes page 1 or 20 of
today's worklist an index walk. When any row is not restated for today (after midnight, before the
roll), the worklist computes the day live, as before: slower, never wrong.

Kept in step: every service that changes an input sends `customers.signals.announce_change` inside its
transaction; `on_facts_changed` (connected in calls.apps) recomputes just those customers set-based,
two queries per chunk of ids. `rebuild_standings` (command) rebuilds or checks all rows; the nightly
task checks and repairs drift, the daily one rolls stale overdue amounts forward.
"""

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import (
    Case,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from agreements.choices import AgreementState, InstalmentState
from agreements.models import Agreement, Instalment
from customers.bulk import update_rows
from customers.fields import MONEY_DIGITS, MONEY_PLACES
from customers.models import Customer
from invoices.choices import InvoiceStatus
from invoices.models import Invoice

from .choices import TaskStatus
from .models import Interaction, Standing, Task

logger = logging.getLogger(__name__)

MONEY = DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
CHUNK = 5000  # customers per statement: bounded memory and parameter counts (SQLite) for any ledger
# Facts that cannot change a standing; anything else (including words added later) recomputes.
IRRELEVANT_FACTS = frozenset({"excuses", "reminders"})


def open_invoices():
    """Open (so undisputed) invoices of the outer customer with money still open."""
    return Invoice.objects.filter(
        customer=OuterRef("pk"), status=InvoiceStatus.OPEN, allocated_amount__lt=F("amount")
    ).order_by()


def overdue_amount_as_of(as_of) -> Coalesce:
    """Open amount, in the customer's currency, of open invoices due before `as_of` (a date or OuterRef)."""
    total = (
        open_invoices()
        .filter(currency=OuterRef("currency"), due_date__lt=as_of)
        .values("customer")
        .annotate(total=Sum(F("amount") - F("allocated_amount")))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=MONEY), Value(Decimal("0.00")), output_field=MONEY)


def with_standing_facts(customers: QuerySet[Customer], *, as_of: date | str) -> QuerySet[Customer]:
    """Annotate `fact_<name>` for every column of Standing, computed from the ledger as of `as_of`:
    a date, or the name of an annotation of `customers` holding each customer's own day."""
    day, inner_day = (as_of, as_of) if isinstance(as_of, date) else (F(as_of), OuterRef(as_of))
    open_tasks = Task.objects.filter(customer=OuterRef("pk"), status=TaskStatus.OPEN).order_by()
    return customers.annotate(
        fact_oldest_open_due_on=Subquery(open_invoices().order_by("due_date").values("due_date")[:1]),
        fact_overdue_amount=overdue_amount_as_of(inner_day),
        fact_overdue_as_of=Value(day) if isinstance(day, date) else day,
        fact_next_due_on=Subquery(
            open_invoices()
            .filter(currency=OuterRef("currency"), due_date__gte=inner_day)
            .order_by("due_date")
            .values("due_date")[:1]
        ),
        fact_last_contact_at=Subquery(
            Interaction.objects.filter(customer=OuterRef("pk"))
            .order_by("-occurred_at")
            .values("occurred_at")[:1]
        ),
        fact_latest_broken_on=Subquery(
            Agreement.objects.filter(customer=OuterRef("pk"), state=AgreementState.BROKEN)
            .order_by("-closed_on")
            .values("closed_on")[:1]
        ),
        fact_has_active_agreement=Exists(
            Agreement.objects.filter(customer=OuterRef("pk"), state=AgreementState.ACTIVE)
        ),
        fact_first_open_task_on=Subquery(open_tasks.order_by("due_on").values("due_on")[:1]),
        fact_last_open_task_on=Subquery(open_tasks.order_by("-due_on").values("due_on")[:1]),
        fact_collector=F("collector"),
        # The reports app's kept score (a reverse one-to-one: calls never imports reports).
        fact_worth_it_score=F("worth_it__score"),
    )


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    ids = sorted(set(ids))
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def computed_standings(customer_ids: list[int], *, as_of: date) -> list[Standing]:
    """The standings of these customers as a full recomputation from the ledger gives them."""
    rows = with_standing_facts(Customer.objects.filter(pk__in=customer_ids), as_of=as_of).values(
        "pk", *(f"fact_{name}" for name in Standing.FACTS)
    )
    return [
        Standing(customer_id=row["pk"], **{ATTNAMES[name]: row[f"fact_{name}"] for name in Standing.FACTS})
        for row in rows
    ]


# Constructor names of the stored columns (a foreign key's value is given by its attname).
ATTNAMES = {name: Standing._meta.get_field(name).attname for name in (*Standing.FACTS, *Standing.DAY)}


def refresh_standings(customer_ids: Iterable[int], *, as_of: date) -> int:
    """Recompute and store the standings of these customers, facts and the day's worklist as of
    `as_of`: four queries per CHUNK of ids."""
    count = 0
    with transaction.atomic(savepoint=False):  # all chunks or none; no savepoint inside a service's
        for chunk in _chunks(customer_ids):
            standings = computed_standings(chunk, as_of=as_of)
            Standing.objects.bulk_create(
                standings,
                update_conflicts=True,
                unique_fields=["customer"],
                update_fields=list(Standing.FACTS),
            )
            _restate_day(chunk, today=as_of)
            count += len(standings)
    return count


def day_of_standings(customers: QuerySet[Customer], *, today: date) -> QuerySet[Customer]:
    """Each customer's stored facts and the day's worklist columns (`day_<name>`) as of `today`,
    computed live from the stored facts by the worklist's own SQL (calls.selectors)."""
    from .selectors import WorklistReasons, with_worklist_facts

    reasons = WorklistReasons(today)
    return with_worklist_facts(customers.filter(standing__isnull=False), today=today).annotate(
        day_on_worklist=reasons.on_worklist_flag(),
        day_overdue_since=F("oldest_due_date"),
        **{f"day_{name}": F(name) for name in ("priority", *REASON_COLUMNS)},
    )


REASON_COLUMNS = ("reason_broken", "reason_task", "reason_promise_due", "reason_overdue", "reason_warning")


def _restate_day(customer_ids: list[int], *, today: date) -> None:
    """Store the day's worklist of these customers (at most CHUNK) as of `today`: two queries."""
    day_names = [name for name in Standing.DAY if name != "priority_as_of"]
    rows = day_of_standings(Customer.objects.filter(pk__in=customer_ids), today=today).values(
        "pk", *(f"standing__{name}" for name in Standing.FACTS), *(f"day_{name}" for name in day_names)
    )
    Standing.objects.bulk_create(
        [
            Standing(
                customer_id=row["pk"],
                priority_as_of=today,
                **{ATTNAMES[name]: row[f"standing__{name}"] for name in Standing.FACTS},
                **{name: row[f"day_{name}"] for name in day_names},
            )
            for row in rows
        ],
        update_conflicts=True,
        unique_fields=["customer"],
        update_fields=list(Standing.DAY),
    )


def restate_day(customer_ids: Iterable[int], *, today: date) -> int:
    """Store the day's worklist of these customers as of `today` (their facts already valid for it)."""
    ids = sorted(set(customer_ids))
    with transaction.atomic(savepoint=False):
        for chunk in _chunks(ids):
            _restate_day(chunk, today=today)
    return len(ids)


def keep_worth_it_scores(scores: dict[int, int]) -> int:
    """Copy these customers' just-written worth-it scores (by customer id) onto their standings, in
    the caller's transaction; returns how many rows changed. One query per CHUNK to find the rows that
    differ, then one UPDATE per batch of those alone, in customer order (the order reports/scores.py
    locks its own rows in); a customer without a standing yet gets the score when its row is made."""
    changed = []
    for chunk in _chunks(scores):
        kept = Standing.objects.filter(customer_id__in=chunk).values_list("customer_id", "worth_it_score")
        changed += [(pk, scores[pk]) for pk, score in kept if score != scores[pk]]
    update_rows(Standing, ["worth_it_score"], sorted(changed), batch_size=CHUNK)
    return len(changed)


def on_facts_changed(sender, *, customer_ids, facts, **kwargs) -> None:
    """Receiver of customers.signals.customer_facts_changed: keep these customers' standings exact."""
    if facts and set(facts) <= IRRELEVANT_FACTS:
        return
    refresh_standings(customer_ids, as_of=timezone.localdate())


def rebuild_all(*, as_of: date) -> int:
    """Recompute every customer's standing (fills a new database; repairs anything)."""
    return refresh_standings(Customer.objects.values_list("pk", flat=True), as_of=as_of)


# --- Checking --------------------------------------------------------------------------------


@dataclass
class Drift:
    missing: list[int]  # customers without a standing row
    wrong: list[int]  # rows that differ from a recomputation as of their own overdue_as_of

    @property
    def customer_ids(self) -> list[int]:
        return sorted(self.missing + self.wrong)

    def __bool__(self) -> bool:
        return bool(self.missing or self.wrong)


def find_drift() -> Drift:
    """Compare every stored row with a full recomputation as of that row's own `overdue_as_of`.

    A row whose day has simply passed is not drift (the selector falls back, the daily task rolls it
    forward); a row that disagrees with the ledger on the day it claims is.
    """
    drift = Drift(missing=[], wrong=[])
    stored_names = [f"standing__{name}" for name in Standing.FACTS]
    for chunk in _chunks(Customer.objects.values_list("pk", flat=True)):
        customers = Customer.objects.filter(pk__in=chunk).annotate(row_as_of=F("standing__overdue_as_of"))
        rows = with_standing_facts(customers, as_of="row_as_of").values(
            "pk", "row_as_of", *stored_names, *(f"fact_{name}" for name in Standing.FACTS)
        )
        for row in rows:
            if row["row_as_of"] is None:
                drift.missing.append(row["pk"])
            elif any(row[f"standing__{name}"] != row[f"fact_{name}"] for name in Standing.FACTS):
                drift.wrong.append(row["pk"])
    return drift


def stale_ids(*, today: date) -> list[int]:
    """Customers whose stored overdue amount is not valid for `today` (the selector recomputes them live)."""
    return list(
        Standing.objects.filter(Q(overdue_as_of__gt=today) | Q(next_due_on__lt=today)).values_list(
            "customer_id", flat=True
        )
    )


def roll_forward(*, today: date) -> int:
    """Restate the rows whose overdue amount went stale as of `today`, then the day's worklist of every
    other row, so pages read today's worklist from the table. Returns how many overdue amounts moved."""
    stale = stale_ids(today=today)
    count = refresh_standings(stale, as_of=today)
    restate_day(
        Standing.objects.filter(not_restated_for(today)).values_list("customer_id", flat=True), today=today
    )
    if connection.vendor == "postgresql":
        # Every row's day just moved: fresh statistics, or the planner still sees yesterday's dates.
        # And every row was rewritten: outside a transaction (the daily task) VACUUM too, so the
        # worklist's count and page stay index-only scans (on 50,000 customers, before autovacuum
        # gets there, each page visited the heap for 22,000 dead and live rows: 50-75 ms, not 3-12).
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        with connection.cursor() as cursor:
            cursor.execute(f"{command} {Standing._meta.db_table}")
    return count


def not_restated_for(today: date) -> Q:
    """Rows whose day's worklist is not `today`'s (written without <> so the index on the day serves)."""
    return Q(priority_as_of__isnull=True) | Q(priority_as_of__lt=today) | Q(priority_as_of__gt=today)


def check_and_repair(*, today: date) -> Drift:
    """Find drift, log it with a count, and repair those rows (the nightly task)."""
    drift = find_drift()
    if drift:
        logger.warning(
            "standing drift: %d missing, %d wrong (first ids %s); repairing",
            len(drift.missing),
            len(drift.wrong),
            drift.customer_ids[:20],
        )
        refresh_standings(drift.customer_ids, as_of=today)
    else:
        logger.info("standing check: no drift")
    return drift


# --- The live definitions ----------------------------------------------------------------------


def live_worklist_facts(customers: QuerySet[Customer], *, today: date) -> QuerySet[Customer]:
    """The worklist's facts and reasons computed straight from the ledger (no standing table).

    This is the definition the standing-based selector must equal (tests compare the two over random
    histories); no page uses it, because it costs a dozen correlated subqueries per customer.
    """
    from .selectors import BROKEN_LOOKBACK_DAYS, OVERDUE_AFTER_DAYS, QUIET_DAYS, start_of

    overdue = Invoice.objects.filter(
        customer=OuterRef("pk"),
        status=InvoiceStatus.OPEN,
        due_date__lt=today,
        allocated_amount__lt=F("amount"),
    )
    spoken_since_break = Interaction.objects.filter(
        customer=OuterRef("customer"), occurred_at__gte=OuterRef("closed_on")
    )
    broken_unhandled = Agreement.objects.filter(
        customer=OuterRef("pk"),
        state=AgreementState.BROKEN,
        closed_on__gte=today - timedelta(days=BROKEN_LOOKBACK_DAYS),
    ).exclude(Exists(spoken_since_break))
    open_tasks = Task.objects.filter(customer=OuterRef("pk"), status=TaskStatus.OPEN)
    promise_due = Instalment.objects.filter(
        agreement__customer=OuterRef("pk"),
        agreement__state=AgreementState.ACTIVE,
        state=InstalmentState.PENDING,
        due_date=today,
    )
    not_contacted_today = Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=start_of(today))
    quiet = Q(last_contact_at__isnull=True) | Q(
        last_contact_at__lt=start_of(today - timedelta(days=QUIET_DAYS))
    )
    return customers.annotate(
        overdue_amount=overdue_amount_as_of(today),
        oldest_due_date=Subquery(overdue.order_by("due_date").values("due_date")[:1]),
        last_contact_at=Subquery(
            Interaction.objects.filter(customer=OuterRef("pk"))
            .order_by("-occurred_at")
            .values("occurred_at")[:1]
        ),
        reason_broken=Exists(broken_unhandled),
        reason_task=Exists(open_tasks.filter(due_on__lte=today)),
        has_later_task=Exists(open_tasks.filter(due_on__gt=today)),
        has_active_agreement=Exists(
            Agreement.objects.filter(customer=OuterRef("pk"), state=AgreementState.ACTIVE)
        ),
        promise_falls_due=Exists(promise_due),
    ).annotate(
        # The reports app's kept early warning (a reverse one-to-one: calls never imports reports).
        reason_warning=Case(
            When(Q(early_warning__isnull=False) & quiet, then=Value(True)), default=Value(False)
        ),
        reason_promise_due=Case(
            When(Q(promise_falls_due=True) & not_contacted_today, then=Value(True)), default=Value(False)
        ),
        reason_overdue=Case(
            When(
                Q(oldest_due_date__lte=today - timedelta(days=OVERDUE_AFTER_DAYS))
                & Q(has_active_agreement=False, has_later_task=False)
                & quiet
                & ~Q(dunning_paused_until__gte=today),
                then=Value(True),
            ),
            default=Value(False),
        ),
    )
