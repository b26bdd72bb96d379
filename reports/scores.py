"""The kept worth-it scores (`WorthItScore`): rebuilt, refreshed per customer, checked, read ranked.

Every row is made by the same functions as the per-request score (`reports.worth_it`): the inputs come
from `with_grouped_inputs` (one GROUP BY query per source, whatever the number of customers) and the
points from `assemble`, so a kept score is the score `worth_it_scores` gives, by construction; the tests
compare the two on random ledgers. Scoring 20,000 customers in Python takes a fraction of the seconds
the grouped queries take, and keeps one definition of the rounding instead of a second one in SQL.

- `rebuild_worth_it_scores(today=)`: every customer, writing only the rows that differ (the nightly
  task, `manage.py rebuild_worth_it`, a change of the weights, the end of `seed_demo`).
- `refresh_worth_it_scores(ids, today=)`: just these customers, in the caller's transaction (the
  receiver of `customer_facts_changed`). A constant number of queries for any number of ids.
- `worth_it_drift(today=)`: the rows that differ from a full recomputation (`rebuild_worth_it --check`).
- `kept_ranking(...)` and `worth_it_of(row, weights)`: the ranking page and API, sorted in SQL.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, Q, QuerySet

from calls.standing import keep_worth_it_scores
from customers.bulk import update_rows
from customers.models import Customer

from .models import WorthItScore, WorthItSettings
from .worth_it import (
    COUNT_FIELDS,
    SOURCE_INPUTS,
    RevenueScale,
    ScoreInputs,
    WorthIt,
    assemble,
    grouped_inputs,
    percent_of,
    revenue_points,
    score_of,
    with_grouped_inputs,
    worth_it_scores,
)

# The columns of a row besides its customer, compared by the drift check and written by the upsert.
VALUE_FIELDS = [
    "as_of",
    "score",
    "revenue_paid",
    "revenue_percent",
    "revenue_points",
    "days_late",
    "punctuality_points",
    *COUNT_FIELDS.values(),
    "effort_points",
]
WRITE_BATCH = 2000
ANALYZE_AFTER = 1000  # rows written by a rebuild


@dataclass
class RebuildResult:
    customers: int = 0
    written: int = 0
    drifted: list[int] = field(default_factory=list)  # customers whose kept row was missing or differed


def rebuild_worth_it_scores(*, today: date) -> RebuildResult:
    """Recompute every customer's score as of `today`; write the rows that changed. About a dozen queries."""
    with transaction.atomic():
        expected = expected_rows(today=today)
        kept = kept_values()
        changed = [row for pk, row in expected.items() if kept.get(pk) != values_of(row)]
        save(changed)
        refresh_statistics(len(changed))
        return RebuildResult(customers=len(expected), written=len(changed), drifted=[r.pk for r in changed])


def refresh_statistics(written: int) -> None:
    """Let PostgreSQL know the table's new shape after a large write (the first build, a new day).

    Without statistics the planner guessed a handful of rows and ranked a filtered page with 16,000
    index look-ups (66 ms) instead of walking the score index (under 1 ms for the first page); the
    autovacuum daemon gets there too, but only minutes later. ANALYZE of 20,000 rows takes ~50 ms.
    """
    if connection.vendor == "postgresql" and written >= ANALYZE_AFTER:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {WorthItScore._meta.db_table}")


def worth_it_drift(*, today: date) -> list[str]:
    """What differs between the kept rows and a full recomputation as of `today`, one line per customer."""
    expected = expected_rows(today=today)
    kept = kept_values()
    lines = []
    for pk, row in sorted(expected.items()):
        want = values_of(row)
        have = kept.get(pk)
        if have is None:
            lines.append(f"customer {pk}: no kept score (expected {row.score})")
        elif have != want:
            pairs = zip(VALUE_FIELDS, have, want, strict=True)
            fields = [f"{name} {old} != {new}" for name, old, new in pairs if old != new]
            lines.append(f"customer {pk}: " + ", ".join(fields))
    return lines


# The sources of the score (`SOURCE_INPUTS`) each fact announced by `customer_facts_changed` can change.
FACT_SOURCES = {
    "payments": {"payments"},
    "invoices": {"payments"},  # a due date moved changes the days late of the money received
    "new_invoices": set(),  # nothing is paid on a new invoice yet: no input of the score moves
    "contacts": {"interactions"},
    "reminders": {"reminders"},
    "agreements": {"broken_agreements"},
    "excuses": {"excuses"},
    "complaints": {"complaints", "rejected_complaints"},
    "tasks": set(),
}


def sources_for(facts) -> set[str] | None:
    """The sources to read again for these facts; None (all of them) for no facts or an unknown word."""
    if not facts or not set(facts) <= FACT_SOURCES.keys():
        return None
    return set().union(*(FACT_SOURCES[fact] for fact in facts))


def refresh_worth_it_scores(customer_ids, *, today: date, facts=None) -> int:
    """Recompute these customers' rows as of `today`, in the caller's transaction; returns rows written.

    When the facts say only counts changed (contacts, reminders, agreements, excuses, complaints) and
    the customers' rows are already as of today, only those sources are read again: the dunning run
    refreshing the customers it reminded reads one grouped query of reminders, not seven.

    A customer's revenue points depend on where its revenue ranks in its currency, so when a revenue
    changed (or a customer is new) the other customers of that currency are re-ranked from their kept
    revenues and the few whose revenue points or percent move are updated; otherwise nothing else moves.
    At most fifteen queries plus the writes, for any number of ids. Nothing is done while no score
    is kept at all (a new installation before its first rebuild): the pages then compute the scores,
    and a handful of kept rows would hide every other customer from them.
    """
    ids = {int(pk) for pk in customer_ids}
    sources = sources_for(facts)
    if not ids or sources == set() or not WorthItScore.objects.exists():
        return 0
    if sources is not None and "payments" not in sources:
        kept_today = WorthItScore.objects.filter(customer_id__in=ids, as_of=today)
        rows = list(kept_today.annotate(currency=F("customer__currency")))
        if len(rows) == len(ids):
            return _refresh_counts(rows, sources, today)
    weights = WorthItSettings.current()
    queryset = Customer.objects.filter(pk__in=ids)
    customers = with_grouped_inputs(list(queryset.only("pk", "currency").order_by()), queryset, today=today)
    fresh = {customer.pk: ScoreInputs.of(customer) for customer in customers}
    kept = {row.pk: row for row in WorthItScore.objects.filter(customer_id__in=fresh)}
    if all(pk in kept and kept[pk].revenue_paid == inputs.revenue for pk, inputs in fresh.items()):
        rows = [
            make_row(pk, inputs, weights, today, kept[pk].revenue_points, kept[pk].revenue_percent)
            for pk, inputs in fresh.items()
        ]
        save(rows)
        return len(rows)
    # Known facts other than "customer" move no currency and add no customer: the ranks can only move
    # between each changed revenue's old and new value.
    return _refresh_and_rerank(fresh, weights, today, kept=kept if sources is not None else None)


def _refresh_counts(rows: list[WorthItScore], sources: set[str], today: date) -> int:
    """Read just these sources again for rows kept as of today; their revenue rank has not moved."""
    weights = WorthItSettings.current()
    found = grouped_inputs(
        Customer.objects.filter(pk__in=[row.pk for row in rows]), today=today, sources=sources
    )
    columns = [column for source in sorted(sources) for column in SOURCE_INPUTS[source]]
    fresh = []
    for row in rows:
        for column in columns:
            setattr(row, column, found.get(row.pk, {}).get(column) or 0)
        counts = {name: getattr(row, column) for name, column in COUNT_FIELDS.items()}
        inputs = ScoreInputs(row.currency, row.revenue_paid, row.days_late, counts)
        fresh.append(make_row(row.pk, inputs, weights, today, row.revenue_points, row.revenue_percent))
    save(fresh)
    return len(fresh)


def _refresh_and_rerank(
    fresh: dict[int, ScoreInputs], weights: WorthItSettings, today: date, *, kept: dict | None
) -> int:
    """Score `fresh` and re-rank their currencies' other customers, writing the rows that move.

    With `kept` (every fresh customer's kept row, read before the change, given when no currency can
    have moved), only the customers a changed revenue passed are re-ranked (`_passed_by`) when the kept
    rows allow it (`_kept_scale`); else everyone.
    """
    currencies = {inputs.currency for inputs in fresh.values()}
    counts = customer_counts(currencies)
    narrow = kept is not None and len(fresh) <= MOST_SPANS and all(pk in kept for pk in fresh)
    scale = _kept_scale(fresh, counts) if narrow else None
    if scale is not None:
        others = _passed_by(fresh, kept)
    else:
        others = list(_other_rows(fresh, currencies))
        revenues = [(inputs.currency, inputs.revenue) for inputs in fresh.values()]
        scale = revenue_scale(revenues + [(row[1], row[2]) for row in others], counts)
    rows = [
        row_for(pk, inputs, weights, today, scale.percentile(inputs.currency, inputs.revenue))
        for pk, inputs in fresh.items()
    ]
    moved = []
    for pk, currency, revenue, old_points, old_percent, punctuality, effort in others:
        share = scale.percentile(currency, revenue)
        points, percent = revenue_points(weights, share), percent_of(share)
        if (points, percent) != (old_points, old_percent):
            moved.append((pk, points, percent, score_of(points + punctuality + effort)))
    save(rows)
    # Thousands of rows move when a morning's payments re-rank a currency: one UPDATE ... FROM VALUES
    # per batch, in customer order (see `save`), not bulk_update's CASE per column.
    update_rows(
        WorthItScore, ["revenue_points", "revenue_percent", "score"], sorted(moved), batch_size=WRITE_BATCH
    )
    keep_worth_it_scores({pk: score for pk, _, _, score in moved})
    return len(rows) + len(moved)


# The columns of another customer's kept row that its re-ranked score needs, in this order.
RERANK_COLUMNS = (
    "customer_id", "customer__currency", "revenue_paid", "revenue_points", "revenue_percent",
    "punctuality_points", "effort_points",
)  # fmt: skip
# More customers refreshed at once than this re-rank by reading the whole currency (a payments import):
# a filter of that many revenue ranges costs more than it saves.
MOST_SPANS = 200


def _other_rows(fresh: dict[int, ScoreInputs], currencies: set[str]) -> QuerySet:
    rows = WorthItScore.objects.filter(customer__currency__in=currencies).exclude(customer_id__in=fresh)
    return rows.values_list(*RERANK_COLUMNS)


def _passed_by(fresh: dict[int, ScoreInputs], kept: dict) -> list[tuple]:
    """The other customers whose rank a changed revenue passed, as kept rows (RERANK_COLUMNS).

    A share counts the paying customers whose revenue is above one's own (and the customers there are),
    so a revenue going from `old` to `new` moves the shares of revenues from the lower of the two up to
    (not including) the higher, and no other. On kept rows ranked right before the change, re-ranking
    these few is re-ranking everyone (the property tests and the drift check compare the two)."""
    spans = Q()
    for pk, inputs in fresh.items():
        old, new = kept[pk].revenue_paid, inputs.revenue
        if old != new:
            low, high = min(old, new), max(old, new)
            spans |= Q(customer__currency=inputs.currency, revenue_paid__gte=low, revenue_paid__lt=high)
    if not spans:
        return []
    others = _other_rows(fresh, {inputs.currency for inputs in fresh.values()})
    return list(others.filter(spans, revenue_paid__gt=0))


def _kept_scale(fresh: dict[int, ScoreInputs], counts: dict[str, int]) -> RevenueScale | None:
    """The currencies' revenues as kept, with the fresh customers' new ones in place of theirs; None when
    some customer there has no kept row (added without a re-rank: every kept share counted one customer
    too few). One query of two narrow columns."""
    stored = WorthItScore.objects.filter(customer__currency__in=counts).exclude(customer_id__in=fresh)
    revenues = [
        *stored.values_list("customer__currency", "revenue_paid"),
        *((i.currency, i.revenue) for i in fresh.values()),
    ]
    if Counter(currency for currency, _ in revenues) != Counter(counts):
        return None
    return revenue_scale(revenues, counts)


def expected_rows(*, today: date) -> dict[int, WorthItScore]:
    """Every customer's row as of `today`, computed afresh (not saved). About ten queries."""
    weights = WorthItSettings.current()
    everyone = Customer.objects.all()
    customers = with_grouped_inputs(list(everyone.only("pk", "currency").order_by()), everyone, today=today)
    inputs = {customer.pk: ScoreInputs.of(customer) for customer in customers}
    counts = Counter(item.currency for item in inputs.values())
    shares = revenue_shares({pk: (i.currency, i.revenue) for pk, i in inputs.items()}, counts)
    return {pk: row_for(pk, item, weights, today, shares[pk]) for pk, item in inputs.items()}


def revenue_shares(revenues: dict[int, tuple[str, Decimal]], totals) -> dict[int, Decimal]:
    """Each customer's revenue percentile in its currency, exactly as `RevenueScale.percentile` ranks it."""
    scale = revenue_scale(revenues.values(), totals)
    return {pk: scale.percentile(currency, revenue) for pk, (currency, revenue) in revenues.items()}


def revenue_scale(revenues: Iterable[tuple[str, Decimal]], totals) -> RevenueScale:
    """The scale of these (currency, revenue) pairs, with the customers counted in `totals`."""
    paying: dict[str, list[Decimal]] = defaultdict(list)
    for currency, revenue in revenues:
        if revenue > 0:
            paying[currency].append(revenue)
    for values in paying.values():
        values.sort()
    return RevenueScale(dict(paying), dict(totals))


def customer_counts(currencies: set[str]) -> dict[str, int]:
    rows = Customer.objects.filter(currency__in=currencies).order_by().values_list("currency")
    return dict(rows.annotate(n=Count("pk")))


def row_for(pk: int, inputs: ScoreInputs, weights, today: date, share: Decimal) -> WorthItScore:
    return make_row(pk, inputs, weights, today, revenue_points(weights, share), percent_of(share))


def make_row(pk: int, inputs: ScoreInputs, weights, today: date, points, percent: int) -> WorthItScore:
    worth_it = assemble(inputs, weights, points, percent)
    revenue, punctuality, *effort = worth_it.components
    return WorthItScore(
        customer_id=pk,
        as_of=today,
        score=worth_it.score,
        revenue_paid=inputs.revenue,
        revenue_percent=percent,
        revenue_points=revenue.points,
        days_late=inputs.days_late,
        punctuality_points=punctuality.points,
        **{column: inputs.counts[name] for name, column in COUNT_FIELDS.items()},
        effort_points=sum((c.points for c in effort), Decimal("0")),
    )


def save(rows: list[WorthItScore]) -> None:
    """Insert or overwrite these rows (one INSERT ... ON CONFLICT per batch).

    In customer order, as the re-rank's updates are: two transactions refreshing customers of the same
    currency then lock shared rows in the same order and wait for each other instead of deadlocking.
    """
    WorthItScore.objects.bulk_create(
        sorted(rows, key=lambda row: row.customer_id),
        update_conflicts=True,
        unique_fields=["customer"],
        update_fields=VALUE_FIELDS,
        batch_size=WRITE_BATCH,
    )
    # The worklist sorts and filters by its own copy of the score (calls.Standing): same transaction.
    keep_worth_it_scores({row.customer_id: row.score for row in rows})


def kept_values() -> dict[int, tuple]:
    """Every kept row's values, in `VALUE_FIELDS` order (decimals normalised as the model reads them)."""
    rows = WorthItScore.objects.values_list("customer_id", *VALUE_FIELDS)
    return {pk: tuple(_normal(v) for v in values) for pk, *values in rows}


def values_of(row: WorthItScore) -> tuple:
    return tuple(_normal(getattr(row, name)) for name in VALUE_FIELDS)


def _normal(value):
    # SQLite hands decimals back as floats-made-Decimal (12.30 as 12.3): compare by value, not by digits.
    return value.normalize() if isinstance(value, Decimal) else value


# Reading ---------------------------------------------------------------------------------------------


def kept_worth_it_scores(customer_ids=(), *, today: date, customers=()) -> dict[int, WorthIt]:
    """Each customer's kept score (whatever day it is as of, so that it matches what the worklist sorts
    and filters by); a customer with none kept yet is computed as of `today`. Two queries when all are
    kept; one when `customers` come with their kept row joined (`select_related("worth_it")`).
    """
    joined = {}
    for customer in customers:
        try:
            row = customer.worth_it
        except WorthItScore.DoesNotExist:
            continue
        row.customer = customer
        joined[customer.pk] = row
    ids = {int(pk) for pk in customer_ids} | {customer.pk for customer in customers}
    if not ids:
        return {}
    rows = list(joined.values())
    if ids - joined.keys():
        rows += WorthItScore.objects.filter(customer_id__in=ids - joined.keys()).select_related("customer")
    weights = WorthItSettings.current() if rows else None
    found = {row.pk: worth_it_of(row, weights) for row in rows}
    missing = ids - found.keys()
    if missing:
        found.update(worth_it_scores(missing, today=today))
    return found


def kept_days() -> tuple[date | None, date | None]:
    """The oldest and newest day the kept scores are as of (None, None when none are kept). One query."""
    days = WorthItScore.objects.aggregate(oldest=Min("as_of"), newest=Max("as_of"))
    return days["oldest"], days["newest"]


def scores_serving(*, requested: date | None) -> date | None:
    """The day of the kept scores when they can answer for `requested` (None: any day), else None.

    They answer when some are kept and, if a day was asked for, it is the day the newest are as of (a
    customer changed today is refreshed as of today while the rest wait for the night). One query.
    """
    oldest, newest = kept_days()
    if newest is None or (requested and requested != newest):
        return None
    return oldest


def kept_ranking(
    *,
    currency: str | None = None,
    segment_id: int | None = None,
    collector_id: int | None = None,
    lowest_first: bool = False,
) -> QuerySet[WorthItScore]:
    """Kept scores with their customers, ranked in SQL (best first, or worst first; then by name)."""
    rows = WorthItScore.objects.select_related("customer", "customer__segment", "customer__collector")
    if currency:
        rows = rows.filter(customer__currency=currency)
    if segment_id:
        rows = rows.filter(customer__segment_id=segment_id)
    if collector_id:
        rows = rows.filter(customer__collector_id=collector_id)
    return rows.order_by("score" if lowest_first else "-score", "customer__name", "customer_id")


def worth_it_of(row: WorthItScore, weights: WorthItSettings) -> WorthIt:
    """The score and every component of a kept row (its customer loaded), without a query."""
    counts = {name: getattr(row, column) for name, column in COUNT_FIELDS.items()}
    inputs = ScoreInputs(row.customer.currency, row.revenue_paid, row.days_late, counts)
    return assemble(inputs, weights, row.revenue_points, row.revenue_percent)
