"""The 13-week cash-in forecast, as of any day, from each customer's own way of paying.

Imported through `reports.selectors`. Everything is per currency; amounts are Decimal.

How a day `d` is forecast (week k is the days d+7(k-1)+1 .. d+7k):
- **Open invoices** (issued by d, open amount on d = amount less allocations received by d) are summed
  per (customer, currency, week of the due date relative to d), with their amount-weighted due offset,
  in one GROUP BY query (and one for the allocations). Each group is spread by the customer's
  distribution of days late over the 12 months before d (amount-weighted, in weekly bins with the
  mean of each bin; one GROUP BY query for every customer), or by the segment's when the customer
  paid fewer than MIN_PAID_INVOICES invoices. An invoice already overdue can only be paid later than
  it is now, so the distribution is cut at its age and rescaled; when nothing is left it is not
  expected within the horizon. Invoices more than a year overdue or due after the horizon are left
  out (days late count from the due date, early payments as 0), and so are invoices not issued yet.
- **Agreements** active on d bring their instalments pending on d, in the instalment's week (one
  already due but within its grace days in week 1), times the customer's kept-rate (agreements kept
  / kept or broken, 12 months; segment's, then everyone's when it has none), up to the open amount of
  the invoices they cover; those invoices are not spread again.
- **Disputed invoices** (in a complaint open on d) are held back until the complaint is expected to be
  resolved (opened + the mean days complaints took over 12 months), less the share of disputes that
  ended upheld (treated as cancelled), then spread like an invoice due that day.
- **The interval** per week is the 10th-90th percentile of a normal approximation: each (customer,
  due week) group lands in week k with probability p, so it adds A^2 p (1 - p) to the variance.
- **The naive forecast** puts every open invoice on its due date (overdue ones in week 1).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from functools import cached_property

from django.db.models import Avg, Count, F, Q, Sum, Value
from django.db.models.functions import Greatest, Least

from agreements.choices import AgreementState, InstalmentState
from agreements.models import Agreement, Instalment
from calls.choices import ComplaintOutcome
from calls.models import Complaint
from customers.models import Customer
from invoices.models import Allocation, Invoice

from .expressions import DaysBetween, cents
from .ledger import LedgerScope

WEEKS = 13
HORIZON_DAYS = WEEKS * 7
HISTORY_DAYS = 365
LATE_BIN_DAYS = 7
LAST_LATE_BIN = 52  # a year late and more share one bin
MIN_PAID_INVOICES = 5
DEFAULT_DISPUTE_DAYS = 30
# The 10th and 90th percentiles of a normal distribution are the mean -/+ this many deviations.
Z_90 = Decimal("1.2816")
ZERO = Decimal("0")
ONE = Decimal("1")
CENT = Decimal("0.01")

FORECAST_DEFINITIONS = {
    "forecast": (
        "Expected receipts per week for 13 weeks: each open invoice spread by its customer's amount-weighted "
        "days late over the last 12 months (the segment's with fewer than 5 invoices paid), agreements by "
        "instalment dates x kept-rate, disputed invoices held back until expected resolution, less the "
        "share of disputes upheld; invoices not issued yet are left out."
    ),
    "interval": "10th-90th percentile of each week's receipts from the same distributions.",
    "naive": "Naive forecast: every open invoice paid on its due date (overdue ones in the first week).",
    "wape": "WAPE = sum of |forecast - actual| / sum of actual receipts x 100, over the weeks compared.",
}


# --- Distributions of days late ------------------------------------------------------------------------


@dataclass
class Lateness:
    """An amount-weighted distribution of days late: bins of (mean days late, amount), and invoices paid."""

    bins: dict[int, list[Decimal]] = field(default_factory=lambda: defaultdict(lambda: [ZERO, ZERO]))
    paid_invoices: int = 0

    def add(self, bin_number: int, amount: Decimal, amount_days: Decimal, count: int) -> None:
        self.bins[bin_number][0] += amount
        self.bins[bin_number][1] += amount_days
        self.paid_invoices += count

    @cached_property
    def shares(self) -> list[tuple[int, Decimal]]:
        """(days late, share of the amount), the mean days late of each bin, latest last (read once
        every bin is added)."""
        total = sum((amount for amount, _ in self.bins.values()), ZERO)
        if not total:
            return []
        return sorted(
            (round(amount_days / amount), amount / total)
            for amount, amount_days in self.bins.values()
            if amount > 0
        )


@dataclass
class Distributions:
    """Each (customer, currency)'s distribution, with the segment's (and everyone's) to fall back on."""

    by_customer: dict[tuple[int, str], Lateness]
    by_segment: dict[tuple[int | None, str], Lateness]
    by_currency: dict[str, Lateness]
    segment_of: dict[int, int | None]

    def for_customer(self, customer_id: int, currency: str) -> list[tuple[int, Decimal]]:
        own = self.by_customer.get((customer_id, currency))
        if own and own.paid_invoices >= MIN_PAID_INVOICES:
            return own.shares
        segment = self.by_segment.get((self.segment_of.get(customer_id), currency))
        if segment and segment.paid_invoices >= MIN_PAID_INVOICES:
            return segment.shares
        everyone = self.by_currency.get(currency)
        return everyone.shares if everyone else []


def lateness_distributions(as_of: date, scope: LedgerScope) -> Distributions:
    """Days late of the money received in the 12 months to `as_of`, per customer: one GROUP BY query."""
    days_late = Greatest(DaysBetween(F("payment__received_on"), F("invoice__due_date")), Value(0))
    rows = (
        scope.filter(Allocation.objects.all(), prefix="invoice__")
        .filter(
            payment__received_on__gt=as_of - timedelta(days=HISTORY_DAYS), payment__received_on__lte=as_of
        )
        .annotate(late=days_late)
        .annotate(bin=Least(F("late") / Value(LATE_BIN_DAYS), Value(LAST_LATE_BIN)))
        .values("invoice__customer_id", "invoice__currency", "bin")
        .annotate(amount_sum=Sum("amount"), amount_days=Sum(F("amount") * F("late")), paid=Count("id"))
        .order_by()
    )
    segment_of = dict(_customers(scope).values_list("pk", "segment_id"))
    found = Distributions({}, {}, {}, segment_of)
    for row in rows:
        customer, currency = row["invoice__customer_id"], row["invoice__currency"]
        segment = segment_of.get(customer)
        values = (row["bin"], cents(row["amount_sum"]), cents(row["amount_days"]), row["paid"])
        for kept, key in (
            (found.by_customer, (customer, currency)),
            (found.by_segment, (segment, currency)),
            (found.by_currency, currency),
        ):
            kept.setdefault(key, Lateness()).add(*values)
    return found


def _customers(scope: LedgerScope):
    customers = Customer.objects.all() if scope.customers is None else scope.customers
    if scope.segment_id:
        customers = customers.filter(segment_id=scope.segment_id)
    if scope.collector_id:
        customers = customers.filter(collector_id=scope.collector_id)
    return customers


# --- What is open on the day ---------------------------------------------------------------------------


@dataclass
class OpenGroup:
    """Open money of one customer in one currency due in one week relative to the day (negative: overdue)."""

    customer_id: int
    currency: str
    amount: Decimal = ZERO
    amount_offset: Decimal = ZERO  # amount x days from the day to the due date

    @property
    def due_offset(self) -> int:
        """Amount-weighted days from the day to the due dates (negative: overdue)."""
        return round(self.amount_offset / self.amount) if self.amount else 0


OVERDUE_BINS = HISTORY_DAYS // 7 + 1  # shifts the due week so the SQL divides non-negative numbers


def open_groups(as_of: date, scope: LedgerScope) -> dict[tuple[int, str, int], OpenGroup]:
    """Open amounts on `as_of` by (customer, currency, due week), for invoices due from a year before
    the day to the end of the horizon: invoiced less allocated by then (two GROUP BY queries)."""
    earliest, latest = as_of - timedelta(days=HISTORY_DAYS), as_of + timedelta(days=HORIZON_DAYS)
    groups: dict[tuple[int, str, int], OpenGroup] = {}

    def add(queryset, prefix: str, sign: int) -> None:
        offset = DaysBetween(F(f"{prefix}due_date"), Value(as_of))
        rows = (
            queryset.annotate(offset=offset)
            .annotate(week=(F("offset") + Value(OVERDUE_BINS * 7 - 1)) / Value(7))
            .values(f"{prefix}customer_id", f"{prefix}currency", "week")
            .annotate(amount_sum=Sum("amount"), amount_offset=Sum(F("amount") * F("offset")))
            .order_by()
        )
        for row in rows:
            key = (row[f"{prefix}customer_id"], row[f"{prefix}currency"], row["week"] - OVERDUE_BINS)
            group = groups.setdefault(key, OpenGroup(key[0], key[1]))
            group.amount += sign * cents(row["amount_sum"])
            group.amount_offset += sign * cents(row["amount_offset"])

    # Open on the day: still open now (partial index invoice_open_aging), or paid off by a payment
    # received after the day; reading only those keeps the ~90% of the ledger settled before out.
    paid_after = Allocation.objects.filter(payment__received_on__gt=as_of).values("invoice_id")

    def open_on_the_day(prefix: str) -> Q:
        return Q(**{f"{prefix}allocated_amount__lt": F(f"{prefix}amount")}) | Q(
            **{f"{prefix}pk__in": paid_after}
        )

    invoices = scope.filter(Invoice.objects.all()).filter(
        open_on_the_day(""), issue_date__lte=as_of, due_date__gte=earliest, due_date__lte=latest
    )
    add(invoices, "", 1)
    allocations = scope.filter(Allocation.objects.all(), prefix="invoice__").filter(
        open_on_the_day("invoice__"),
        invoice__issue_date__lte=as_of,
        invoice__due_date__gte=earliest,
        invoice__due_date__lte=latest,
        payment__received_on__lte=as_of,
    )
    add(allocations, "invoice__", -1)
    return {key: group for key, group in groups.items() if group.amount > 0}


@dataclass
class OpenInvoice:
    """One invoice open on the day that is forecast on its own (covered by an agreement, or disputed)."""

    pk: int
    customer_id: int
    segment_id: int | None
    currency: str
    due_date: date
    open_amount: Decimal


def open_invoices(as_of: date, invoices) -> list[OpenInvoice]:
    """The given invoices (a queryset) with their open amount on `as_of`, those still open: one query."""
    rows = (
        invoices.filter(issue_date__lte=as_of)
        .annotate(paid=Sum("allocations__amount", filter=Q(allocations__payment__received_on__lte=as_of)))
        .values("pk", "customer_id", "customer__segment_id", "currency", "due_date", "amount", "paid")
        .order_by()
    )
    found = []
    for row in rows:
        open_amount = cents(row["amount"]) - cents(row["paid"])
        if open_amount > 0:
            found.append(
                OpenInvoice(row["pk"], row["customer_id"], row["customer__segment_id"], row["currency"],
                            row["due_date"], open_amount)
            )  # fmt: skip
    return found


def take_out(groups: dict, invoices: list[OpenInvoice], as_of: date) -> None:
    """Remove invoices forecast on their own from the groups they were summed into."""
    for invoice in invoices:
        offset = (invoice.due_date - as_of).days
        key = (invoice.customer_id, invoice.currency, (offset + OVERDUE_BINS * 7 - 1) // 7 - OVERDUE_BINS)
        group = groups.get(key)
        if group is not None:
            group.amount -= invoice.open_amount
            group.amount_offset -= invoice.open_amount * offset
            if group.amount <= 0:
                del groups[key]


# --- The forecast --------------------------------------------------------------------------------------


@dataclass
class WeekForecast:
    week: int  # 1..13
    starts: date
    ends: date
    expected: Decimal
    low: Decimal
    high: Decimal
    naive: Decimal
    from_invoices: Decimal
    from_agreements: Decimal
    from_disputes: Decimal


@dataclass
class CurrencyForecast:
    currency: str
    as_of: date
    weeks: list[WeekForecast]
    # Open money the forecast looks at: invoices due by the end of week 13 and at most a year overdue,
    # and every open invoice in an active agreement or an open dispute.
    open_amount: Decimal
    not_expected: Decimal  # of which not expected within the 13 weeks

    @property
    def total(self) -> Decimal:
        return sum((week.expected for week in self.weeks), ZERO)

    @property
    def naive_total(self) -> Decimal:
        return sum((week.naive for week in self.weeks), ZERO)


class _Weeks:
    """Running sums per currency and week (1..13): expected by source, variance, naive."""

    def __init__(self):
        self.sums = defaultdict(lambda: defaultdict(lambda: defaultdict(lambda: ZERO)))

    def add(self, currency: str, week: int, name: str, amount: Decimal) -> None:
        if 1 <= week <= WEEKS:
            self.sums[currency][week][name] += amount


def week_of(days_after: int) -> int:
    """The forecast week of a day `days_after` the as-of day (1 for the first seven days)."""
    return max(1, -(-days_after // 7))


def spread(weeks: _Weeks, *, currency: str, amount: Decimal, due_offset: int, shares, source: str) -> None:
    """Spread `amount` due `due_offset` days after the day by a days-late distribution, cut at the days
    it is already late (it was not paid by the day) and rescaled; records the variance as well."""
    possible = [(late, share) for late, share in shares if due_offset + late >= 1]
    total = sum((share for _, share in possible), ZERO)
    if not total:
        return
    by_week = defaultdict(lambda: ZERO)
    for late, share in possible:
        by_week[week_of(due_offset + late)] += share / total
    for week, probability in by_week.items():
        weeks.add(currency, week, source, amount * probability)
        weeks.add(currency, week, "variance", amount * amount * probability * (ONE - probability))


def _agreement_rates(as_of: date, scope: LedgerScope) -> dict:
    """Kept-rates over the 12 months to `as_of` keyed by customer, (segment, currency) and currency."""
    closed = (
        Agreement.objects.filter(
            closed_on__gt=as_of - timedelta(days=HISTORY_DAYS),
            closed_on__lte=as_of,
            state__in=[AgreementState.KEPT, AgreementState.BROKEN],
        )
        .values("customer_id", "customer__segment_id", "currency")
        .annotate(kept=Count("id", filter=Q(state=AgreementState.KEPT)), closed=Count("id"))
        .order_by()
    )
    if scope.currency:
        closed = closed.filter(currency=scope.currency)
    counts = defaultdict(lambda: [0, 0])
    for row in closed:
        segment = ("segment", row["customer__segment_id"], row["currency"])
        for key in (("customer", row["customer_id"]), segment, ("currency", row["currency"])):
            counts[key][0] += row["kept"]
            counts[key][1] += row["closed"]
    return {key: Decimal(kept) / Decimal(closed) for key, (kept, closed) in counts.items()}


def kept_rate(rates: dict, customer_id: int, segment_id: int | None, currency: str) -> Decimal:
    for key in (("customer", customer_id), ("segment", segment_id, currency), ("currency", currency)):
        if key in rates:
            return rates[key]
    return ONE  # nobody has kept or broken anything yet: take agreements at their word


def _dispute_rates(as_of: date, scope: LedgerScope) -> tuple[Decimal, int]:
    """Share of complaints resolved in the 12 months that were upheld, and the mean days they took."""
    resolved = Complaint.objects.filter(
        resolved_on__gt=as_of - timedelta(days=HISTORY_DAYS), resolved_on__lte=as_of
    )
    if scope.segment_id:
        resolved = resolved.filter(customer__segment_id=scope.segment_id)
    if scope.collector_id:
        resolved = resolved.filter(customer__collector_id=scope.collector_id)
    found = resolved.aggregate(
        total=Count("id"),
        upheld=Count("id", filter=Q(outcome=ComplaintOutcome.UPHELD)),
        days=Avg(DaysBetween(F("resolved_on"), F("opened_on"))),
    )
    if not found["total"]:
        return ZERO, DEFAULT_DISPUTE_DAYS
    return Decimal(found["upheld"]) / Decimal(found["total"]), round(found["days"] or 0)


def _active_agreements(as_of: date):
    return Agreement.objects.filter(made_on__lte=as_of).filter(
        Q(state=AgreementState.ACTIVE) | Q(closed_on__gt=as_of)
    )


def forecast(*, as_of: date, scope: LedgerScope | None = None) -> list[CurrencyForecast]:
    """The 13-week forecast per currency as of `as_of` (see the module's docstring). About ten queries,
    whatever the size of the ledger; the work in Python is per (customer, due week), not per invoice."""
    scope = scope or LedgerScope()
    distributions = lateness_distributions(as_of, scope)
    groups = open_groups(as_of, scope)
    weeks = _Weeks()
    open_total = defaultdict(lambda: ZERO)

    # The naive forecast and the open total see every open invoice, before any is taken out.
    for group in groups.values():
        weeks.add(group.currency, week_of(group.due_offset), "naive", group.amount)
        open_total[group.currency] += group.amount

    active = _active_agreements(as_of)
    covered_ids = Agreement.invoices.through.objects.filter(agreement__in=active).values("invoice_id")
    covered = open_invoices(as_of, scope.filter(Invoice.objects.filter(pk__in=covered_ids)))
    disputed_ids = (
        Complaint.invoices.through.objects.filter(complaint__opened_on__lte=as_of)
        .filter(Q(complaint__resolved_on__isnull=True) | Q(complaint__resolved_on__gt=as_of))
        .values("invoice_id")
    )
    disputed = open_invoices(
        as_of, scope.filter(Invoice.objects.filter(pk__in=disputed_ids).exclude(pk__in=covered_ids))
    )
    take_out(groups, [i for i in covered + disputed if _in_window(i, as_of)], as_of)

    for group in groups.values():
        shares = distributions.for_customer(group.customer_id, group.currency)
        spread(weeks, currency=group.currency, amount=group.amount, due_offset=group.due_offset,
               shares=shares, source="invoices")  # fmt: skip

    _forecast_agreements(weeks, as_of, scope, active, covered)
    _forecast_disputes(weeks, as_of, scope, disputed, distributions)

    for invoice in covered + disputed:  # those outside the groups' window count on their own
        if not _in_window(invoice, as_of):
            open_total[invoice.currency] += invoice.open_amount
            weeks.add(
                invoice.currency, week_of((invoice.due_date - as_of).days), "naive", invoice.open_amount
            )
    return _results(weeks, as_of, open_total)


def _in_window(invoice: OpenInvoice, as_of: date) -> bool:
    """Whether `open_groups` summed this invoice (due from a year before the day to the horizon)."""
    return -HISTORY_DAYS <= (invoice.due_date - as_of).days <= HORIZON_DAYS


def _forecast_agreements(weeks: _Weeks, as_of: date, scope: LedgerScope, active, covered) -> None:
    """Pending instalments in their weeks x kept-rate, up to the open amount of the covered invoices."""
    rates = _agreement_rates(as_of, scope)
    room = defaultdict(lambda: ZERO)  # open amount of each agreement's invoices
    pending_ids = Agreement.invoices.through.objects.filter(
        agreement__in=active, invoice_id__in=[invoice.pk for invoice in covered]
    ).values_list("agreement_id", "invoice_id")
    open_of = {invoice.pk: invoice.open_amount for invoice in covered}
    counted = set()
    for agreement_id, invoice_id in pending_ids.order_by("invoice_id", "agreement_id"):
        if invoice_id not in counted:  # an invoice in two agreements counts once
            room[agreement_id] += open_of[invoice_id]
            counted.add(invoice_id)
    instalments = (
        Instalment.objects.filter(agreement__in=active, due_date__lte=as_of + timedelta(days=HORIZON_DAYS))
        .filter(Q(state=InstalmentState.PENDING) | Q(settled_on__gt=as_of))
        .values("agreement_id", "agreement__customer_id", "agreement__customer__segment_id",
                "agreement__currency", "agreement__grace_days", "due_date", "amount")
        .order_by("agreement_id", "due_date")
    )  # fmt: skip
    for row in instalments:
        days_after = (row["due_date"] - as_of).days
        if days_after + row["agreement__grace_days"] < 0:  # missed on the day: counts as broken
            continue
        amount = min(row["amount"], room[row["agreement_id"]])
        room[row["agreement_id"]] -= amount
        if amount <= 0:
            continue
        currency = row["agreement__currency"]
        rate = kept_rate(
            rates, row["agreement__customer_id"], row["agreement__customer__segment_id"], currency
        )
        expected = amount * rate
        weeks.add(currency, week_of(days_after), "agreements", expected)
        weeks.add(currency, week_of(days_after), "variance", amount * amount * rate * (ONE - rate))


def _forecast_disputes(weeks, as_of: date, scope: LedgerScope, disputed, distributions) -> None:
    """Disputed invoices wait for the expected resolution, less the upheld share, then pay as usual."""
    if not disputed:
        return
    upheld_share, dispute_days = _dispute_rates(as_of, scope)
    # The latest complaint opened by the day, for each disputed invoice.
    opened = dict(
        Complaint.invoices.through.objects.filter(
            invoice_id__in=[i.pk for i in disputed], complaint__opened_on__lte=as_of
        )
        .values_list("invoice_id", "complaint__opened_on")
        .order_by("invoice_id", "complaint__opened_on")
    )
    for invoice in disputed:
        resolved_after = max(1, (opened.get(invoice.pk, as_of) - as_of).days + dispute_days)
        due_offset = max(resolved_after, (invoice.due_date - as_of).days)
        shares = distributions.for_customer(invoice.customer_id, invoice.currency)
        spread(weeks, currency=invoice.currency, amount=invoice.open_amount * (ONE - upheld_share),
               due_offset=due_offset, shares=[(max(late, 0), share) for late, share in shares],
               source="disputes")  # fmt: skip


def _results(weeks: _Weeks, as_of: date, open_total: dict) -> list[CurrencyForecast]:
    results = []
    for currency in sorted(set(weeks.sums) | set(open_total)):
        rows = []
        for number in range(1, WEEKS + 1):
            sums = weeks.sums[currency][number]
            parts = [_down(sums[name]) for name in ("invoices", "agreements", "disputes")]
            expected = sum(parts, ZERO)
            spread_by = Z_90 * sums["variance"].sqrt() if sums["variance"] > 0 else ZERO
            rows.append(
                WeekForecast(
                    week=number,
                    starts=as_of + timedelta(days=7 * number - 6),
                    ends=as_of + timedelta(days=7 * number),
                    expected=expected,
                    low=_down(max(ZERO, expected - spread_by)),
                    high=_down(expected + spread_by),
                    naive=_down(sums["naive"]),
                    from_invoices=parts[0],
                    from_agreements=parts[1],
                    from_disputes=parts[2],
                )
            )
        total = _down(open_total[currency])
        expected = sum((row.expected for row in rows), ZERO)
        results.append(CurrencyForecast(currency, as_of, rows, total, max(ZERO, total - expected)))
    return results


def _down(value: Decimal) -> Decimal:
    """To the cent, down: the weeks never add up to more than was open."""
    return value.quantize(CENT, rounding=ROUND_DOWN)
