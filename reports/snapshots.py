"""Daily snapshots of the ledger figures: past days change only when history is corrected.

What is kept (reports/models.py): per day and per (currency, segment, collector), the open amount in
each aging bucket (LedgerSnapshot, SnapshotDay marks a day complete); per past calendar month and
group, the credit sales (MonthlySalesSnapshot, SnapshotMonth). Every other figure of the dashboard
(DSO, countback, best DSO, ADD, CEI, the trend, the segment and collector tables) is a sum of these.

Filled by `fill_days` / `fill_months` (the nightly Celery task, and `snapshot_ledger --months N` to
backfill), from the same live SQL the figures use otherwise, so a snapshot equals the live figure.
Invalidated by a back-dated write: the receiver of `customers.signals.customer_facts_changed` marks
every day from the signal's `earliest_day` on stale (every day when a ledger change gives none); the
next read of such a day is live, the next nightly run refills it. Only days still fresh are updated,
so once a day is stale, further writers touch (and lock) nothing until the refill.

Grouping: the live SQL of a past day groups by each customer's *current* segment and collector. The
snapshot records the grouping it was filled under (SnapshotAssignment); while any customer has moved
since, no snapshot is read (every day is live) and the nightly run refills them all under the new one.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Case, F, QuerySet, Sum, When
from django.db.models.functions import Coalesce

from customers.models import Customer
from invoices.models import Invoice, Payment
from invoices.selectors import MONEY, ZERO

from . import debt_bands
from .expressions import cents
from .ledger import (
    BUCKET_KEYS,
    LedgerScope,
    _bucket_conditions,
    _roll_up,
    add_months,
    month_end,
    monthly_credit_sales,
    months_back,
    receivable_positions,
)
from .models import (
    ChannelDay,
    ChannelDaySnapshot,
    ChannelMonth,
    ChannelSnapshot,
    DebtBandSnapshot,
    LedgerSnapshot,
    MonthlySalesSnapshot,
    PortalAnswerDaySnapshot,
    PortalAnswerSnapshot,
    SnapshotAssignment,
    SnapshotDay,
    SnapshotMonth,
)

# The facts whose change can move a past day's ledger figures (the others are calls, tasks...).
LEDGER_FACTS = {"invoices", "new_invoices", "payments"}
# Days per fill query: each adds five conditional sums to one scan of invoices and of allocations.
FILL_BATCH_DAYS = 8
GROUPED = LedgerScope(group_by="segment_and_collector")
NONE = 0  # segment or collector id stored for "none"
# Credit sales are invoice amounts: a payment does not move them.
SALES_FACTS = frozenset({"invoices", "new_invoices", "customer"})
ASSIGNMENTS_RECORDED = "reports:assignments-recorded"  # a new stamp each time they are recorded
EMPTY_MONTHS_BEFORE = 48  # more than the trend and countback look back (COUNTBACK_MONTHS + 12 + 12)


def _stored(group_id: int | None) -> int:
    return group_id or NONE


def _read(stored_id: int) -> int | None:
    return stored_id or None


# --- Filling -------------------------------------------------------------------------------------------


def fill_days(days: list[date]) -> int:
    """Write the snapshot of each day (replacing any), in batches; returns the days written.

    Each batch is one transaction: its days are complete (SnapshotDay) or not there at all.
    """
    _record_assignments_if_none()
    group_of = _groups_of_customers()
    days = sorted(set(days))
    for start in range(0, len(days), FILL_BATCH_DAYS):
        batch = days[start : start + FILL_BATCH_DAYS]
        with transaction.atomic():
            positions = receivable_positions(batch, scope=GROUPED)
            bands = debt_bands.snapshot_rows(batch, group_of=group_of)
            DebtBandSnapshot.objects.filter(day__in=batch).delete()
            DebtBandSnapshot.objects.bulk_create(bands)
            LedgerSnapshot.objects.filter(day__in=batch).delete()
            LedgerSnapshot.objects.bulk_create(
                LedgerSnapshot(
                    day=day,
                    currency=currency,
                    segment_id=_stored(segment_id),
                    collector_id=_stored(collector_id),
                    **buckets,
                )
                for (currency, (segment_id, collector_id)), by_day in positions.items()
                for day, buckets in by_day.items()
            )
            SnapshotDay.objects.filter(day__in=batch).delete()
            SnapshotDay.objects.bulk_create(SnapshotDay(day=day) for day in batch)
    return len(days)


def _groups_of_customers():
    """customer id -> the (segment, collector, customer's currency) a snapshot stores for it."""
    groups = {
        pk: (_stored(segment), _stored(collector), currency)
        for pk, segment, collector, currency in Customer.objects.order_by().values_list(
            "pk", "segment_id", "collector_id", "currency"
        )
    }
    return groups.__getitem__


def fill_months(*, today: date) -> int:
    """Write the credit sales of every calendar month before this one (one query); returns the months."""
    _record_assignments_if_none()
    this_month = today.replace(day=1)
    first = Invoice.objects.order_by("issue_date").values_list("issue_date", flat=True).first()
    if first is None or first >= this_month:
        return 0
    # The months before the first invoice are kept too (empty), so that a countback or trend reaching
    # back past the start of the ledger still reads every month from the snapshot.
    months = _months_between(
        add_months(first.replace(day=1), -EMPTY_MONTHS_BEFORE), add_months(this_month, -1)
    )
    last_day = this_month - timedelta(days=1)
    with transaction.atomic():
        sales = monthly_credit_sales(last_day, scope=GROUPED, months=len(months))
        MonthlySalesSnapshot.objects.filter(month__in=months).delete()
        MonthlySalesSnapshot.objects.bulk_create(
            MonthlySalesSnapshot(
                month=month,
                currency=currency,
                segment_id=_stored(segment_id),
                collector_id=_stored(collector_id),
                amount=amount,
            )
            for (currency, (segment_id, collector_id)), by_month in sales.items()
            for month, amount in by_month.items()
        )
        SnapshotMonth.objects.filter(month__in=months).delete()
        SnapshotMonth.objects.bulk_create(SnapshotMonth(month=month) for month in months)
    return len(months)


def refresh(*, today: date, months_back: int = 0) -> dict:
    """The nightly run: regroup if customers moved, then fill yesterday, every invalidated day since the
    earliest day kept (or `months_back` months), and the months. Idempotent: a repeat writes nothing new."""
    # The window kept so far is refilled whole after a regrouping too.
    kept = SnapshotDay.objects.order_by("day").values_list("day", flat=True).first()
    regrouped = False
    if assignments_changed():
        _drop_all_and_regroup()
        regrouped = True
    yesterday = today - timedelta(days=1)
    first = add_months(today.replace(day=1), -months_back) if months_back else (kept or yesterday)
    first = min(first, kept or first)
    wanted = [first + timedelta(days=n) for n in range((yesterday - first).days + 1)]
    have = set(
        SnapshotDay.objects.filter(day__gte=first, day__lte=yesterday, stale=False).values_list(
            "day", flat=True
        )
    )
    days = fill_days([day for day in wanted if day not in have])
    months_have = set(SnapshotMonth.objects.filter(stale=False).values_list("month", flat=True))
    first_invoice = Invoice.objects.order_by("issue_date").values_list("issue_date", flat=True).first()
    months_missing = first_invoice is not None and any(
        month not in months_have
        for month in _months_between(
            add_months(first_invoice.replace(day=1), -EMPTY_MONTHS_BEFORE),
            add_months(today.replace(day=1), -1),
        )
    )
    months = fill_months(today=today) if months_missing else 0
    return {"regrouped": regrouped, "days": days, "months": months}


def drift(days: list[date] | None = None) -> list[date]:
    """The kept days (or `days`) whose snapshot differs from a live rebuild, and the kept months whose
    sales do: what `snapshot_ledger --check` reports. Reads the whole ledger once per batch of days."""
    kept = sorted(days or SnapshotDay.objects.filter(stale=False).values_list("day", flat=True))
    differ = []
    for start in range(0, len(kept), FILL_BATCH_DAYS):
        batch = kept[start : start + FILL_BATCH_DAYS]
        live = receivable_positions(batch, scope=GROUPED)
        stored, _ = snapshot_positions(batch, scope=GROUPED, aged_days=set(batch))
        live_bands = _band_figures(debt_bands.snapshot_rows(batch, group_of=_groups_of_customers()))
        stored_bands = _band_figures(DebtBandSnapshot.objects.filter(day__in=batch))
        for day in batch:
            if _nonzero(live, day) != _nonzero(stored, day) or live_bands.get(day) != stored_bands.get(day):
                differ.append(day)
    months = sorted(SnapshotMonth.objects.filter(stale=False).values_list("month", flat=True))
    if months:
        last = add_months(months[-1], 1) - timedelta(days=1)
        live_sales = monthly_credit_sales(
            last, scope=GROUPED, months=len(_months_between(months[0], months[-1]))
        )
        stored_sales, _ = snapshot_sales(months, scope=GROUPED)
        for month in months:
            if _nonzero_sales(live_sales, month) != _nonzero_sales(stored_sales, month):
                differ.append(month)
    return differ


def _nonzero(positions, day) -> dict:
    return {
        (key, bucket): amount
        for key, by_day in positions.items()
        for bucket, amount in by_day.get(day, {}).items()
        if amount
    }


def _band_figures(rows) -> dict[date, set[tuple]]:
    found: dict[date, set[tuple]] = defaultdict(set)
    for row in rows:
        found[row.day].add(
            (row.currency, row.customer_currency, row.segment_id, row.collector_id, row.band,
             row.customers, row.paying,
             cents(row.balance), cents(row.paid))
        )  # fmt: skip
    return dict(found)


def _nonzero_sales(sales, month) -> dict:
    return {key: by_month[month] for key, by_month in sales.items() if by_month.get(month)}


def _months_between(first: date, last: date) -> list[date]:
    months, month = [], first
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


# --- Grouping ------------------------------------------------------------------------------------------


def assignments_changed() -> bool:
    """Whether a customer recorded at fill time is now in another segment or with another collector.

    Customers created since have no snapshot history of their own (their back-dated invoices, if any,
    invalidated the days they touch), so only recorded customers are compared. One query, a join of
    every recorded customer (every dashboard section asks, ~30 ms on 20,000 customers): with a shared
    cache the answer is kept under the newest customer change (a move changes `updated_at`: an index
    read) and the stamp of the last recording (a regrouping records them all anew). A lost stamp can
    only keep a "moved" answer until the next change: slower reads, never wrong figures.
    """
    seconds = settings.REPORTS_CACHE_SECONDS
    if not seconds:
        return _assignments_differ()
    from . import section_stamps  # it reads the facts of the channels, which read the snapshots

    recorded = cache.get(ASSIGNMENTS_RECORDED)
    key = f"reports:assignments-changed:{recorded}:{section_stamps.customers_changed()}"
    changed = cache.get(key)
    if changed is None:
        changed = _assignments_differ()
        cache.set(key, changed, seconds)
    return changed


def _assignments_differ() -> bool:
    return (
        SnapshotAssignment.objects.annotate(
            now_segment=Coalesce("customer__segment_id", NONE),
            now_collector=Coalesce("customer__collector_id", NONE),
        )
        .exclude(segment_id=F("now_segment"), collector_id=F("now_collector"))
        .exists()
    )


def _record_assignments_if_none() -> None:
    if not SnapshotAssignment.objects.exists():
        _record_assignments()


def _record_assignments() -> None:
    transaction.on_commit(lambda: cache.set(ASSIGNMENTS_RECORDED, uuid.uuid4().hex, None))
    SnapshotAssignment.objects.all().delete()
    SnapshotAssignment.objects.bulk_create(
        (
            SnapshotAssignment(customer_id=pk, segment_id=_stored(segment), collector_id=_stored(collector))
            for pk, segment, collector in Customer.objects.order_by().values_list(
                "pk", "segment_id", "collector_id"
            )
        ),
        batch_size=5000,
    )


@transaction.atomic
def _drop_all_and_regroup() -> None:
    drop_all()
    _record_assignments()


def drop_all() -> None:
    # The channel follow-through months and days (reports/channels.py) are grouped the same way.
    ChannelMonth.objects.all().delete()
    ChannelSnapshot.objects.all().delete()
    PortalAnswerSnapshot.objects.all().delete()
    ChannelDay.objects.all().delete()
    ChannelDaySnapshot.objects.all().delete()
    PortalAnswerDaySnapshot.objects.all().delete()
    SnapshotDay.objects.all().delete()
    LedgerSnapshot.objects.all().delete()
    DebtBandSnapshot.objects.all().delete()
    SnapshotMonth.objects.all().delete()
    MonthlySalesSnapshot.objects.all().delete()


# --- Invalidation --------------------------------------------------------------------------------------


def invalidate(*, since: date | None) -> None:
    """Mark stale every snapshot a change dated `since` can have moved (None: all of them).

    Called in the writer's transaction, so a rollback keeps the snapshots fresh too.
    """
    days, months = SnapshotDay.objects.filter(stale=False), SnapshotMonth.objects.filter(stale=False)
    if since is not None:
        days, months = days.filter(day__gte=since), months.filter(month__gte=since.replace(day=1))
    days.update(stale=True)
    months.update(stale=True)


# --- Reading -------------------------------------------------------------------------------------------


def usable(scope: LedgerScope) -> bool:
    """Snapshots hold whole groups: a portfolio (`customers`) cuts across them, and a moved customer
    regroups them; both read live."""
    return scope.customers is None and not assignments_changed()


def _group_key(scope: LedgerScope, segment_id: int, collector_id: int):
    segment, collector = _read(segment_id), _read(collector_id)
    return {
        "segment": segment,
        "collector": collector,
        "segment_and_collector": (segment, collector),
    }.get(scope.group_by or "")


def _in_scope(queryset, scope: LedgerScope):
    if scope.currency:
        queryset = queryset.filter(currency=scope.currency)
    if scope.segment_id:
        queryset = queryset.filter(segment_id=scope.segment_id)
    if scope.collector_id:
        queryset = queryset.filter(collector_id=scope.collector_id)
    return queryset


def snapshot_positions(
    days: list[date], *, scope: LedgerScope, aged_days: set[date]
) -> tuple[dict[tuple, dict[date, dict[str, Decimal]]], set[date]]:
    """Open amounts of the days that have a complete snapshot, shaped like `receivable_positions`;
    and the days found. One query for the marks, one for the amounts (summed per group in SQL)."""
    found = set(SnapshotDay.objects.filter(day__in=days, stale=False).values_list("day", flat=True))
    positions: dict[tuple, dict[date, dict[str, Decimal]]] = defaultdict(dict)
    if not found:
        return {}, found
    group_fields = snapshot_group_fields(scope)
    rows = (
        _in_scope(LedgerSnapshot.objects.filter(day__in=found), scope)
        .order_by()
        .values("day", "currency", *group_fields)
        .annotate(**{key: Sum(key) for key in BUCKET_KEYS})
    )
    for row in rows:
        key = (row["currency"], _group_key(scope, row.get("segment_id", NONE), row.get("collector_id", NONE)))
        buckets = {key_: row[key_] for key_ in BUCKET_KEYS}
        if row["day"] not in aged_days:
            buckets = {
                "current": buckets["current"],
                "overdue": sum(list(buckets.values())[1:], Decimal("0.00")),
            }
        positions[key][row["day"]] = buckets
    return dict(positions), found


def snapshot_group_fields(scope: LedgerScope) -> list[str]:
    """The snapshot columns a scope's grouping reads (none when the scope is not grouped)."""
    return {
        "segment": ["segment_id"],
        "collector": ["collector_id"],
        "segment_and_collector": ["segment_id", "collector_id"],
    }.get(scope.group_by or "", [])


def snapshot_sales(
    months: list[date], *, scope: LedgerScope
) -> tuple[dict[tuple, dict[date, Decimal]], set[date]]:
    """Credit sales of the months that have a complete snapshot, shaped like `monthly_credit_sales`."""
    found = set(SnapshotMonth.objects.filter(month__in=months, stale=False).values_list("month", flat=True))
    sales: dict[tuple, dict[date, Decimal]] = defaultdict(dict)
    if not found:
        return {}, found
    group_fields = snapshot_group_fields(scope)
    rows = (
        _in_scope(MonthlySalesSnapshot.objects.filter(month__in=found), scope)
        .order_by()
        .values("month", "currency", *group_fields)
        .annotate(total=Sum("amount"))
    )
    for row in rows:
        key = (row["currency"], _group_key(scope, row.get("segment_id", NONE), row.get("collector_id", NONE)))
        sales[key][row["month"]] = row["total"]
    return dict(sales), found


def snapshot_debt_bands(
    as_of: date,
    *,
    currency: str | None = None,
    segment_id: int | None = None,
    collector_id: int | None = None,
) -> list[dict] | None:
    """The payment rate by debt band of a past day from its complete snapshot, summed per currency and
    band in SQL (shaped like `debt_bands.kept_band_totals`); None when the day has no fresh snapshot or
    customers moved since the fill (then the caller reads live). Three queries."""
    if not SnapshotDay.objects.filter(day=as_of, stale=False).exists() or assignments_changed():
        return None
    # As the live section: the currency filter picks customers by their own currency.
    kept = in_groups(
        DebtBandSnapshot.objects.filter(day=as_of),
        customer_currency=currency,
        segment_id=segment_id,
        collector_id=collector_id,
    )
    rows = (
        kept.order_by()
        .values("currency", "band")
        .annotate(
            total_customers=Sum("customers"),
            total_paying=Sum("paying"),
            total_balance=Sum("balance"),
            total_paid=Sum("paid"),
        )
    )
    return debt_bands.band_entries(rows)


def in_groups(kept: QuerySet, **groups) -> QuerySet:
    """Kept rows of the groups asked for, by their stored columns (e.g. currency=, segment_id=,
    collector_id=); a group not asked for (None) is not filtered."""
    return kept.filter(**{column: value for column, value in groups.items() if value})


def open_positions(today: date, *, scope: LedgerScope) -> dict[tuple, dict[date, dict[str, Decimal]]] | None:
    """Today's aging from the invoices still open (partial index `invoice_open_aging`), or None when
    that would differ from the full rebuild: a payment dated after today is already allocated.
    Shared by the sections and their filters (`_kept_for_today`)."""
    return _kept_for_today(f"open:{today}", today, scope, lambda scope: _open_positions(today, scope=scope))


def _open_positions(today: date, *, scope: LedgerScope) -> dict[tuple, dict[date, dict[str, Decimal]]] | None:
    if Payment.objects.filter(received_on__gt=today, allocated_amount__gt=0).exists():
        return None
    open_amount = F("amount") - F("allocated_amount")
    columns = {
        bucket: Sum(Case(When(condition, then=open_amount), default=ZERO, output_field=MONEY))
        for bucket, condition in _bucket_conditions(today, "").items()
    }
    queryset = scope.filter(Invoice.objects.filter(allocated_amount__lt=F("amount"), issue_date__lte=today))
    rows = queryset.order_by().values("currency", *scope.group_fields()).annotate(**columns)
    positions: dict[tuple, dict[date, dict[str, Decimal]]] = defaultdict(dict)
    for row in rows:
        positions[(row["currency"], scope.group_key(row))][today] = {
            bucket: cents(row[bucket]) for bucket in BUCKET_KEYS
        }
    return dict(positions)


def read_ledger(
    days: list[date], *, scope: LedgerScope, aged_days: set[date], as_of: date, months: int, today: date
):
    """Positions on `days` and monthly sales for `months` months to `as_of`, as `ledger._read_ledger`
    reads them live, but from the snapshots where complete, today's from open invoices only, and live
    SQL for the rest. None when snapshots cannot serve this scope (read everything live)."""
    if not usable(scope):
        return None
    positions, found = snapshot_positions(
        [day for day in days if day < today], scope=scope, aged_days=aged_days
    )
    live_days = [day for day in days if day not in found]
    if today in live_days and today in aged_days:
        opened = open_positions(today, scope=scope)
        if opened is not None:
            _merge(positions, opened)
            live_days.remove(today)
    if live_days:
        _merge(positions, receivable_positions(live_days, scope=scope, aged_days=aged_days & set(live_days)))
    return positions, _sales(as_of, scope=scope, months=months, today=today)


def _sales(as_of: date, *, scope: LedgerScope, months: int, today: date) -> dict[tuple, dict[date, Decimal]]:
    wanted = [month for month, _ in months_back(as_of, months)]
    whole = [
        m for m in wanted if m < today.replace(day=1) and (m < as_of.replace(day=1) or as_of == month_end(m))
    ]
    sales, found = snapshot_sales(whole, scope=scope)
    missing = [month for month in wanted if month not in found]
    if missing:
        count = len([month for month in wanted if month >= min(missing)])
        live = _kept_for_today(
            f"sales:{as_of}:{count}",
            max(as_of, today),
            scope,
            lambda scope: monthly_credit_sales(as_of, scope=scope, months=count),
            facts=SALES_FACTS,
            sales=True,
        )
        for key, by_month in live.items():
            for month, amount in by_month.items():
                if month in missing:
                    sales.setdefault(key, {})[month] = amount
    return sales


def _kept_for_today(what: str, through: date, scope: LedgerScope, read, *, facts=None, sales=False):
    """`read(scope)`, the part of today's figures no snapshot holds. The headline, the aging, the trend
    and the breakdown all need it, each filter a part of it: with a shared cache, the whole ledger's is
    read once, grouped by (currency, segment, collector), kept under the ledger's stamp for today (the
    next change to invoices or payments, or to a customer, replaces it), and each scope is summed from
    it. `through`: the last day whose changes can move it; `facts`: the facts it reads (default: the
    ledger's); `sales`: monthly sales rather than positions. A portfolio (`customers`) cuts across the
    groups: read for itself."""
    from . import section_stamps  # it reads the facts of the channels, which read the snapshots

    seconds = settings.REPORTS_CACHE_SECONDS
    if scope.customers is not None or not seconds:
        return read(scope)
    key = f"reports:today:{what}:{section_stamps.stamp(facts or section_stamps.LEDGER, through)}"
    grouped = cache.get(key)
    if grouped is None:
        grouped = read(GROUPED)
        if grouped is None:
            return None
        cache.set(key, grouped, seconds)
    return _regrouped(grouped, scope, sales=sales)


def _regrouped(grouped: dict, scope: LedgerScope, *, sales: bool) -> dict:
    """Positions (or, with `sales`, monthly sales) keyed by (currency, (segment id, collector id)), cut
    to the scope's filters and summed by its grouping (`ledger._roll_up`)."""
    wanted = {
        (currency, group): amounts
        for (currency, group), amounts in grouped.items()
        if (not scope.currency or currency == scope.currency)
        and (not scope.segment_id or group[0] == scope.segment_id)
        and (not scope.collector_id or group[1] == scope.collector_id)
    }
    positions, monthly = _roll_up(
        {} if sales else wanted, wanted if sales else {}, lambda group: _group_key(scope, *group)
    )
    return monthly if sales else positions


def _merge(into: dict, more: dict) -> None:
    for key, by_day in more.items():
        into.setdefault(key, {}).update(by_day)
