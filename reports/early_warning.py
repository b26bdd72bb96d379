"""Early warning: customers whose payment behaviour is getting worse, each reason said in words.

Four signs, each from one GROUP BY query over the chosen customers (any number of them):
- **Paying later than usual**: the amount-weighted days late of the money received in the last 3
  months against the 9 months before them (the rest of the customer's year), at least RISE_DAYS more
  and RISE_FACTOR times as many.
- **First broken promise**: an agreement broken in the last 3 months after a year without any.
- **First "financial change" excuse**: a cash-flow or paying-other-debts-first excuse in the last 3
  months, after a year without one.
- **Open amount above usual**: the open amount in the customer's currency now above its own usual
  high (the 90th percentile of its open amount at the last 12 month ends, with at least OPEN_MONTHS
  of them since its first invoice) by at least OPEN_MINIMUM and a quarter (OPEN_FACTOR), and rising
  (more than at the last month end). It used to be "twice the 12-month average", which flagged one
  customer in ten on the demo ledger: seasonal buyers and ordinary large orders.

Kept in `EarlyWarning` (one row per flagged customer): refreshed for announced customers by the
receiver (reports/receivers.py) and for everyone nightly (`reports.tasks.rebuild_early_warnings`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Case, F, Min, Q, Sum, Value, When
from django.db.models.functions import Greatest

from agreements.choices import AgreementState
from agreements.models import Agreement
from calls.choices import ExcuseCategory
from calls.models import Excuse
from calls.standing import restate_day
from customers.models import Customer
from invoices.choices import CLOSED_STATUSES
from invoices.models import Allocation, Invoice

from .expressions import DaysBetween, cents
from .ledger import months_back
from .models import EarlyWarning

RECENT_DAYS = 91
YEAR_DAYS = 365
RISE_DAYS = 10
RISE_FACTOR = Decimal("1.5")
# The open-amount sign: above the customer's own 90th percentile of the last 12 month ends (with at
# least OPEN_MONTHS of them) by OPEN_MINIMUM or more (customer's currency) and OPEN_FACTOR times it,
# and more than at the last month end.
OPEN_MONTHS = 6
OPEN_MINIMUM = Decimal("5000.00")
OPEN_FACTOR = Decimal("1.25")
FINANCIAL_EXCUSES = (ExcuseCategory.CASH_FLOW, ExcuseCategory.PAYING_OTHER_DEBTS)
TENTH = Decimal("0.1")
ZERO = Decimal("0.00")
# The announced facts (customers.signals) a warning reads; tasks, contacts, reminders and complaints
# change none (no facts at all means "anything": refreshed too).
WARNING_FACTS = {"payments", "invoices", "agreements", "excuses", "customer"}
KINDS = {
    "later": "Paying later than usual",
    "broken": "First broken promise",
    "financial": "First financial-change excuse",
    "open": "Open amount above usual",
}


@dataclass
class Warning:
    customer_id: int
    reasons: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    days_late_recent: Decimal | None = None
    days_late_before: Decimal | None = None
    open_amount: Decimal = Decimal("0.00")
    usual_open_amount: Decimal = Decimal("0.00")

    def flag(self, kind: str, words: str) -> None:
        self.kinds.append(kind)
        self.reasons.append(f"{KINDS[kind]}: {words}")


def warnings_for(customers, *, today: date) -> dict[int, Warning]:
    """The warning of each customer in the queryset that shows a sign (see the module). Five queries."""
    ids = customers.values("pk")
    found: dict[int, Warning] = {}

    def warning(pk: int) -> Warning:
        return found.setdefault(pk, Warning(pk))

    for pk, (recent, before) in _days_late(ids, today).items():
        if recent is None or before is None:
            continue
        if recent >= before + RISE_DAYS and recent >= before * RISE_FACTOR:
            entry = warning(pk)
            entry.days_late_recent, entry.days_late_before = recent, before
            entry.flag("later", f"{recent:.0f} days late over 3 months, {before:.0f} before")
    broken = Agreement.objects.filter(customer__in=ids, state=AgreementState.BROKEN)
    for pk, day in _first_in_a_year(broken, "closed_on", today).items():
        warning(pk).flag("broken", f"broken on {day:%-d %b %Y} after a clean year")
    financial = Excuse.objects.filter(customer__in=ids, category__in=FINANCIAL_EXCUSES)
    for pk, day in _first_in_a_year(financial, "given_on", today).items():
        warning(pk).flag("financial", f"cash-flow trouble or other debts first, said on {day:%-d %b %Y}")
    currency_of = dict(customers.values_list("pk", "currency"))
    open_amounts = _open_against_usual(ids, today)
    for pk, history in open_amounts.items():
        if history.flagged:
            currency = currency_of.get(pk, "")
            words = f"{history.now:,.2f} {currency} open, rising, usually at most {history.usual_high:,.2f}"
            warning(pk).flag("open", words)
    for pk, entry in found.items():
        history = open_amounts.get(pk)
        if history is not None:
            entry.open_amount, entry.usual_open_amount = history.now, history.usual_high or Decimal("0.00")
    return found


def _days_late(ids, today: date) -> dict[int, tuple[Decimal | None, Decimal | None]]:
    """Amount-weighted days late of the money received in the last 3 months and the 9 before."""
    recent_start, year_start = today - timedelta(days=RECENT_DAYS), today - timedelta(days=YEAR_DAYS)
    days_late = Greatest(DaysBetween(F("payment__received_on"), F("invoice__due_date")), Value(0))
    recent = Q(payment__received_on__gt=recent_start)
    rows = (
        Allocation.objects.filter(
            payment__customer__in=ids, payment__received_on__gt=year_start, payment__received_on__lte=today
        )
        .annotate(late=days_late)
        .values("payment__customer_id")
        .annotate(
            recent_amount=Sum("amount", filter=recent),
            recent_days=Sum(F("amount") * F("late"), filter=recent),
            before_amount=Sum("amount", filter=~recent),
            before_days=Sum(F("amount") * F("late"), filter=~recent),
        )
        .order_by()
    )

    def mean(days, amount) -> Decimal | None:
        amount = cents(amount)
        return (cents(days) / amount).quantize(TENTH, ROUND_HALF_UP) if amount else None

    return {
        row["payment__customer_id"]: (
            mean(row["recent_days"], row["recent_amount"]),
            mean(row["before_days"], row["before_amount"]),
        )
        for row in rows
    }


def _first_in_a_year(queryset, date_field: str, today: date) -> dict[int, date]:
    """Customers whose latest such row is in the last 3 months with none in the year before it: its
    day. Broken agreements and financial excuses are few, so one query reads their days."""
    since = today - timedelta(days=RECENT_DAYS + YEAR_DAYS)
    days = defaultdict(list)
    rows = queryset.filter(**{f"{date_field}__gt": since, f"{date_field}__lte": today})
    for pk, day in rows.values_list("customer_id", date_field).order_by(date_field):
        days[pk].append(day)
    firsts = {}
    for pk, found in days.items():
        latest = found[-1]
        earlier = [day for day in found[:-1] if day > latest - timedelta(days=YEAR_DAYS)]
        if latest > today - timedelta(days=RECENT_DAYS) and not earlier:
            firsts[pk] = latest
    return firsts


def _open_against_usual(ids, today: date) -> dict[int, OpenHistory]:
    """Open amount now, in the customer's currency, and at each of the last 12 month ends (those since
    its first invoice, latest first): one GROUP BY query for what was invoiced by each month end, one
    for what was paid by then, one for now."""
    month_ends = [first - timedelta(days=1) for first, _ in months_back(today, 12)]

    def by_end(day_field: str) -> dict:
        # The amount of the rows on or before each month end: one column per month end.
        return {
            f"end{index}": Sum(
                Case(When(**{f"{day_field}__lte": end}, then=F("amount")), default=Value(ZERO))
            )
            for index, end in enumerate(month_ends)
        }

    invoices = Invoice.objects.filter(customer__in=ids, currency=F("customer__currency")).exclude(
        status__in=CLOSED_STATUSES
    )
    invoiced = (
        invoices.filter(issue_date__lte=max(month_ends))
        .values("customer_id")
        .annotate(first=Min("issue_date"), **by_end("issue_date"))
        .order_by()
    )
    paid = (
        Allocation.objects.filter(invoice__in=invoices, payment__received_on__lte=max(month_ends))
        .values("invoice__customer_id")
        .annotate(**by_end("payment__received_on"))
        .order_by()
    )
    now = (
        invoices.filter(allocated_amount__lt=F("amount"), issue_date__lte=today)
        .values("customer_id")
        .annotate(open=Sum(F("amount") - F("allocated_amount")))
        .order_by()
    )
    ends = {}
    for row in invoiced:
        # Only the month ends since the first invoice: a new customer has no "usual" yet.
        ends[row["customer_id"]] = [
            cents(row[f"end{index}"]) for index, end in enumerate(month_ends) if end >= row["first"]
        ]
    for row in paid:
        kept = ends.get(row["invoice__customer_id"], [])
        for index in range(len(kept)):
            kept[index] -= cents(row[f"end{index}"])
    return {
        row["customer_id"]: OpenHistory(cents(row["open"]), ends.get(row["customer_id"], [])) for row in now
    }


@dataclass
class OpenHistory:
    """Open amount now and at the last month ends (latest first), in the customer's currency."""

    now: Decimal
    month_ends: list[Decimal]

    @property
    def usual_high(self) -> Decimal | None:
        """The 90th percentile of the month ends (nearest rank; None with fewer than OPEN_MONTHS)."""
        if len(self.month_ends) < OPEN_MONTHS:
            return None
        ranked = sorted(self.month_ends)
        return ranked[-(-len(ranked) * 9 // 10) - 1]

    @property
    def flagged(self) -> bool:
        """Above the customer's own usual high by at least OPEN_MINIMUM and OPEN_FACTOR times it, and
        rising: more than at the last month end."""
        high = self.usual_high
        if high is None:
            return False
        return self.now >= max(high + OPEN_MINIMUM, high * OPEN_FACTOR) and self.now > self.month_ends[0]


def refresh_early_warnings(customer_ids=None, *, today: date) -> int:
    """Rewrite the warnings of these customers (None: everyone) as of `today`; returns rows kept."""
    customers = (
        Customer.objects.all() if customer_ids is None else Customer.objects.filter(pk__in=customer_ids)
    )
    return keep_warnings(warnings_for(customers, today=today), customer_ids=customer_ids, today=today)


def keep_warnings(found: dict[int, Warning], *, customer_ids, today: date) -> int:
    """Store `found` as the warnings of these customers (None: everyone), dropping the others' rows."""
    with transaction.atomic():
        stale = EarlyWarning.objects.all() if customer_ids is None else EarlyWarning.objects.filter(
            customer_id__in=customer_ids
        )  # fmt: skip
        flagged_before = set(stale.values_list("customer_id", flat=True))
        stale.exclude(customer_id__in=list(found)).delete()
        EarlyWarning.objects.bulk_create(
            [
                EarlyWarning(
                    customer_id=pk,
                    as_of=today,
                    reasons=w.reasons,
                    kinds=w.kinds,
                    days_late_recent=w.days_late_recent,
                    days_late_before=w.days_late_before,
                    open_amount=w.open_amount,
                    usual_open_amount=w.usual_open_amount,
                )  # fmt: skip
                for pk, w in found.items()
            ],
            update_conflicts=True,
            unique_fields=["customer"],
            update_fields=[
                "as_of",
                "reasons",
                "kinds",
                "days_late_recent",
                "days_late_before",
                "open_amount",
                "usual_open_amount",
            ],  # fmt: skip
            batch_size=1000,
        )
        # A flag is a worklist reason of its own (calls.selectors): the customers flagged or cleared
        # here get their day's worklist restated, so the kept rows agree with the live definition.
        restate_day(flagged_before ^ set(found), today=today)
    return len(found)


def kept_warnings(
    *, currency: str | None = None, segment_id: int | None = None, collector_id: int | None = None
):
    """The kept warnings, most reasons first then largest open amount, with their customers (one query)."""
    rows = EarlyWarning.objects.select_related("customer", "customer__segment", "customer__collector")
    if currency:
        rows = rows.filter(customer__currency=currency)
    if segment_id:
        rows = rows.filter(customer__segment_id=segment_id)
    if collector_id:
        rows = rows.filter(customer__collector_id=collector_id)
    return rows.order_by("-open_amount", "customer__name", "pk")
