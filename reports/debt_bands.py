"""Payment rate by debt band: each customer's open balance a month ago and what it paid of it since.

The live definition (`balances`) reads every invoice still open and a month of allocations with their
payments and invoices: ~2 s on the 20,000-customer ledger, more under load. The dashboard asks for
today nearly always, and a customer's two figures for today move only when its invoices or payments
change (or the day turns), so they are kept per customer and currency (`DebtBandStanding`), the
pattern of the worth-it scores (reports/scores.py):

- `refresh_debt_bands(ids, today=)`: these customers' rows as of today, in the writer's transaction
  (the receiver of `customer_facts_changed`, for the facts in BAND_FACTS). Two grouped queries.
- `rebuild_debt_bands(today=)`: every customer (the nightly worth-it task rolls them to the new day;
  `rebuild_worth_it`), writing only the rows that differ.
- `debt_band_drift(today=)`: the rows that differ from a full recomputation (`rebuild_worth_it --check`).
- `kept_band_totals(...)`: the section's sums per currency and band in one GROUP BY over the kept
  rows, or None when some customer in scope has no row as of that day (another day, a new customer
  before the night, the hours between midnight and the roll): the caller then reads live.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When

from customers.bulk import replace_rows
from customers.models import Customer
from invoices.choices import CLOSED_STATUSES
from invoices.models import Allocation, Invoice
from invoices.selectors import MONEY

from .expressions import cents
from .models import DebtBandSnapshot, DebtBandStanding

# Open balance bands, in units of the customer's own currency.
DEBT_BANDS = (Decimal("1000"), Decimal("10000"), Decimal("50000"))
LOOKBACK_DAYS = 30
# The facts that can move a customer's rows ("customer": a new customer gets its zero row at once).
BAND_FACTS = {"invoices", "new_invoices", "payments", "customer"}
NOTHING = Decimal("0.00")
WRITE_BATCH = 2000

Key = tuple[int, str]  # customer id, currency


def balances(
    in_scope: QuerySet, *, as_of: date, lookback_days: int = LOOKBACK_DAYS
) -> dict[Key, tuple[Decimal, Decimal]]:
    """(balance on `as_of - lookback_days`, paid of it up to `as_of`) per customer and currency, for the
    customers in `in_scope` (a queryset of their pks) with invoices then open. Two queries, which rely
    on `Invoice.allocated_amount` being the sum of the invoice's allocations (kept by invoices.services).
    """
    return balances_on(in_scope, days=[as_of], lookback_days=lookback_days)[as_of]


def balances_on(
    in_scope: QuerySet, *, days: list[date], lookback_days: int = LOOKBACK_DAYS
) -> dict[date, dict[Key, tuple[Decimal, Decimal]]]:
    """`balances` of each of `days`, in the same two queries (a pair of conditional sums per day): the
    snapshot fill reads a batch of days in one pass over the open invoices and the allocations."""
    starts = {day: day - timedelta(days=lookback_days) for day in days}
    first, last = min(starts.values()), max(starts.values())
    # The balance on `start` is what is open now plus what was paid after `start`: the open part reads
    # only the invoices still open (partial index invoice_open_aging), the paid part only the payments
    # received since `start`, instead of every invoice and allocation in the ledger.
    invoiced = (
        Invoice.objects.filter(customer__in=in_scope, issue_date__lte=last, allocated_amount__lt=F("amount"))
        .exclude(status__in=CLOSED_STATUSES)
        .order_by()
        .values_list("customer_id", "currency")
        .annotate(
            **{
                f"open_{index}": _sum_when(Q(issue_date__lte=start), F("amount") - F("allocated_amount"))
                for index, start in enumerate(starts.values())
            }
        )
    )
    paid_columns = {}
    for index, (day, start) in enumerate(starts.items()):
        of_start = Q(invoice__issue_date__lte=start, payment__received_on__gt=start)
        paid_columns[f"after_{index}"] = _sum_when(of_start, F("amount"))  # still open on `start`
        paid_columns[f"since_{index}"] = _sum_when(of_start & Q(payment__received_on__lte=day), F("amount"))
    allocations = (
        Allocation.objects.filter(invoice__customer__in=in_scope, invoice__issue_date__lte=last)
        .exclude(invoice__status__in=CLOSED_STATUSES)
        .filter(payment__received_on__gt=first)
        .order_by()
        .values_list("invoice__customer_id", "invoice__currency")
        .annotate(**paid_columns)
    )
    paid = {(customer_id, currency): sums for customer_id, currency, *sums in allocations}
    open_now = {(customer_id, currency): sums for customer_id, currency, *sums in invoiced}
    found: dict[date, dict[Key, tuple[Decimal, Decimal]]] = {day: {} for day in days}
    # Tuples, and cents() only for sums there are: this loop runs once per customer with a balance.
    for key in open_now.keys() | paid.keys():
        open_parts, paid_parts = open_now.get(key), paid.get(key)
        for index, day in enumerate(starts):
            open_part = open_parts[index] if open_parts else None
            after_start, since = (
                (paid_parts[2 * index], paid_parts[2 * index + 1]) if paid_parts else (None, None)
            )
            if open_part is None and after_start is None and since is None:
                continue
            balance = (cents(open_part) if open_part else NOTHING) + (
                cents(after_start) if after_start else NOTHING
            )
            found[day][key] = (balance, cents(since) if since else NOTHING)
    return found


def _sum_when(condition: Q, value) -> Sum:
    return Sum(Case(When(condition, then=value), output_field=MONEY))


def band_totals(found: dict[Key, tuple[Decimal, Decimal]], group_of=None) -> list[dict]:
    """Per currency and band (and group: `group_of(customer_id)`, when given) of the customers with a
    positive balance: customers, how many paid, the balance and what was paid of it."""
    bands: dict[tuple, dict] = {}
    for (customer_id, currency), (balance, since) in found.items():
        if balance <= 0:
            continue
        band = band_of(balance)
        group = group_of(customer_id) if group_of else None
        entry = bands.get((currency, band, group))
        if entry is None:
            entry = bands[(currency, band, group)] = {
                "currency": currency, "band": band, "group": group, "customers": 0, "paying": 0,
                "balance": NOTHING, "paid": NOTHING,
            }  # fmt: skip
        entry["customers"] += 1
        entry["paying"] += 1 if since > 0 else 0
        entry["balance"] += balance
        entry["paid"] += since
    return list(bands.values())


def band_of(balance: Decimal) -> int:
    return sum(1 for limit in DEBT_BANDS if balance >= limit)


# --- Kept rows -----------------------------------------------------------------------------------------


def expected_rows(customers: QuerySet[Customer], *, today: date) -> list[DebtBandStanding]:
    """The rows of these customers as of `today`, computed afresh (not saved): one per currency they
    have figures in, and one with zeros in their own currency when they have none. Three queries."""
    found = balances(customers.order_by().values("pk"), as_of=today)
    rows = [
        DebtBandStanding(customer_id=pk, currency=currency, as_of=today, balance=balance, paid=paid)
        for (pk, currency), (balance, paid) in found.items()
    ]
    with_figures = {pk for pk, _ in found}
    rows += [
        DebtBandStanding(customer_id=pk, currency=currency, as_of=today)
        for pk, currency in customers.order_by().values_list("pk", "currency")
        if pk not in with_figures
    ]
    return sorted(rows, key=lambda row: (row.customer_id, row.currency))


def refresh_debt_bands(customer_ids, *, today: date) -> int:
    """Replace these customers' rows with their figures as of `today`, in the caller's transaction.
    Nothing is done while no row is kept at all (before the first rebuild). Four queries and the writes.
    """
    ids = {int(pk) for pk in customer_ids}
    if not ids or not DebtBandStanding.objects.exists():
        return 0
    rows = expected_rows(Customer.objects.filter(pk__in=ids), today=today)
    replace_rows(
        DebtBandStanding,
        rows,
        customer_ids=ids,
        unique_fields=("customer", "currency"),
        batch_size=WRITE_BATCH,
    )
    return len(rows)


def rebuild_debt_bands(*, today: date) -> list[int]:
    """Every customer's rows as of `today`; only the customers whose rows differ are rewritten (their
    ids are returned: on a new day, nearly all; on a repeat, none)."""
    with transaction.atomic():
        expected = _by_customer(expected_rows(Customer.objects.all(), today=today))
        kept = _by_customer(DebtBandStanding.objects.order_by("customer_id", "currency"))
        changed = sorted(pk for pk in expected.keys() | kept.keys() if expected.get(pk) != kept.get(pk))
        gone = [pk for pk in changed if pk not in expected]
        if gone:
            DebtBandStanding.objects.filter(customer_id__in=gone).delete()
        written = [pk for pk in changed if pk in expected]
        for start in range(0, len(written), WRITE_BATCH):
            batch = written[start : start + WRITE_BATCH]
            DebtBandStanding.objects.filter(customer_id__in=batch).delete()
            DebtBandStanding.objects.bulk_create(
                [
                    DebtBandStanding(
                        customer_id=pk, currency=currency, as_of=as_of, balance=balance, paid=paid
                    )
                    for pk in batch
                    for currency, as_of, balance, paid in expected[pk]
                ]
            )
        return changed


def debt_band_drift(*, today: date) -> list[str]:
    """What differs between the kept rows and a full recomputation as of `today`, one line per customer."""
    expected = _by_customer(expected_rows(Customer.objects.all(), today=today))
    kept = _by_customer(DebtBandStanding.objects.order_by("customer_id", "currency"))
    return [
        f"customer {pk}: debt band rows {kept.get(pk)} != {expected.get(pk)}"
        for pk in sorted(expected.keys() | kept.keys())
        if expected.get(pk) != kept.get(pk)
    ]


def _by_customer(rows) -> dict[int, list[tuple]]:
    grouped: dict[int, list[tuple]] = {}
    for row in rows:
        values = (row.currency, row.as_of, cents(row.balance), cents(row.paid))
        grouped.setdefault(row.customer_id, []).append(values)
    return {pk: sorted(values) for pk, values in grouped.items()}


# --- Reading -------------------------------------------------------------------------------------------


def kept_band_totals(in_scope: QuerySet, *, as_of: date) -> list[dict] | None:
    """Per currency and band of the customers in `in_scope` (a queryset of pks) with a positive balance:
    customers, how many paid, the balance and what was paid, from the kept rows as of `as_of`. None when
    a customer in scope has no row as of that day. Two queries."""
    kept_today = DebtBandStanding.objects.filter(as_of=as_of)
    if Customer.objects.filter(pk__in=in_scope).exclude(pk__in=kept_today.values("customer_id")).exists():
        return None
    band = Case(
        *(
            When(balance__gte=limit, then=Value(band))
            for band, limit in reversed(list(enumerate(DEBT_BANDS, 1)))
        ),
        default=Value(0),
        output_field=IntegerField(),
    )
    rows = (
        kept_today.filter(customer__in=in_scope, balance__gt=0)
        .order_by()
        .annotate(band=band)
        .values("currency", "band")
        .annotate(
            total_customers=Count("pk"),
            total_paying=Count("pk", filter=Q(paid__gt=0)),
            total_balance=Sum("balance"),
            total_paid=Sum("paid"),
        )
    )
    return band_entries(rows)


def band_entries(rows) -> list[dict]:
    """The section's entries from rows summed per currency and band in SQL (total_customers,
    total_paying, total_balance, total_paid): the kept rows of today and a past day's snapshot."""
    return [
        {
            "currency": row["currency"],
            "band": row["band"],
            "customers": row["total_customers"],
            "paying": row["total_paying"],
            "balance": cents(row["total_balance"]),
            "paid": cents(row["total_paid"]),
        }
        for row in rows
    ]


# --- Past days (the daily snapshots) -------------------------------------------------------------------


def snapshot_rows(days: list[date], *, group_of) -> list[DebtBandSnapshot]:
    """The band totals of each of `days` per (currency, segment, collector, band), for the snapshot fill
    (reports/snapshots.py writes them with the day's ledger rows). `group_of(customer_id)` gives the
    stored (segment id, collector id, customer's currency). Two queries for the whole batch of days."""
    found = balances_on(Customer.objects.order_by().values("pk"), days=days)
    return [
        DebtBandSnapshot(
            day=day,
            currency=entry["currency"],
            segment_id=entry["group"][0],
            collector_id=entry["group"][1],
            customer_currency=entry["group"][2],
            band=entry["band"],
            customers=entry["customers"],
            paying=entry["paying"],
            balance=entry["balance"],
            paid=entry["paid"],
        )
        for day in days
        for entry in band_totals(found[day], group_of)
    ]
