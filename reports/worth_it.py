"""The worth-it score: what a customer brings (revenue paid, punctuality) against what collecting costs.

Imported by `reports.selectors`, which is the public entry point for other apps.

How the score is built (every component is shown with its weight and points):
- Value (up to 100 points): revenue paid in the last 12 months, as the customer's percentile among all
  customers of the same currency (amounts in different currencies are never compared or added), and
  punctuality, the amount-weighted average days late of the money received in the window (0 days late
  earns everything, `punctuality_zero_at_days` earns nothing; no payments in the window earns half).
  Value weights share the 100 points in proportion.
- Effort (points taken off): interactions, minutes spent, reminders, broken agreements, excuses,
  complaints and rejected complaints in the 12 months; each takes off `weight x min(1, count / cap)`.
- Score = value points - effort points, rounded and kept within 0-100.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, IntegerField, Max, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest

from agreements.choices import AgreementState
from agreements.models import Agreement
from calls.choices import ComplaintOutcome
from calls.models import Complaint, Excuse, Interaction
from customers.models import Customer
from dunning.models import Reminder
from invoices.models import Allocation
from invoices.selectors import MONEY, ZERO

from .expressions import DaysBetween, cents
from .models import RevenueScaleSnapshot, WorthItSettings

WINDOW_DAYS = 365
HUNDRED = Decimal("100")
POINT = Decimal("0.1")


@dataclass(frozen=True)
class WorthItComponent:
    """One input of the score: its raw value, its weight, and the points it gives (+) or takes off (-)."""

    name: str
    label: str
    value: Decimal | int
    weight: Decimal
    points: Decimal
    detail: str = ""


@dataclass(frozen=True)
class WorthIt:
    score: int
    components: list[WorthItComponent] = field(default_factory=list)
    currency: str = ""

    @property
    def value_points(self) -> Decimal:
        return sum((c.points for c in self.components if c.points > 0), Decimal("0"))

    @property
    def effort_points(self) -> Decimal:
        return sum((-c.points for c in self.components if c.points < 0), Decimal("0"))


# (name, label, settings prefix) of the effort components, in the order they are shown.
EFFORT_COMPONENTS = (
    ("interactions", "Interactions", "interactions"),
    ("minutes", "Minutes spent", "minutes"),
    ("reminders", "Reminders sent", "reminders"),
    ("broken_agreements", "Broken agreements", "broken_agreements"),
    ("excuses", "Excuses", "excuses"),
    ("complaints", "Complaints", "complaints"),
    ("rejected_complaints", "Complaints rejected", "rejected_complaints"),
)


def window_start(today: date) -> date:
    """The last day before the 12-month window: the window is (start, today]."""
    return today - timedelta(days=WINDOW_DAYS)


def worth_it_scores(customer_ids: Iterable[int], *, today: date) -> dict[int, WorthIt]:
    """The worth-it score of each customer, keyed by id; ids of unknown customers are left out.

    A constant number of queries whatever the number of ids: the settings, the customers with their
    inputs, the revenue scale of their currencies (kept in `RevenueScaleSnapshot`, rebuilt when new
    allocations arrived: two to four queries) and the customer count per currency.
    """
    ids = list(customer_ids)
    if not ids:
        return {}
    weights = WorthItSettings.current()
    customers = list(with_worth_it_inputs(Customer.objects.filter(pk__in=ids), today=today))
    scale = RevenueScale.for_currencies({c.currency for c in customers}, today=today)
    return {c.pk: score_customer(c, weights, scale) for c in customers}


def worth_it_ranking(
    *,
    today: date,
    customers: QuerySet[Customer] | None = None,
    currency: str | None = None,
    segment_id: int | None = None,
    collector_id: int | None = None,
    limit: int | None = None,
    lowest_first: bool = False,
) -> list[tuple[Customer, WorthIt]]:
    """Customers ranked by worth-it score (best first, or worst first), with their scores.

    `customers` narrows the ledger (e.g. a collector's portfolio); the filters narrow it further.
    Reads each input with one grouped query over the whole set (cheaper than per-customer subqueries
    when ranking thousands of customers): a constant number of queries, about a dozen.
    """
    queryset = Customer.objects.all() if customers is None else customers
    if currency:
        queryset = queryset.filter(currency=currency)
    if segment_id:
        queryset = queryset.filter(segment_id=segment_id)
    if collector_id:
        queryset = queryset.filter(collector_id=collector_id)
    weights = WorthItSettings.current()
    rows = with_grouped_inputs(list(queryset.select_related("segment", "collector")), queryset, today=today)
    scale = RevenueScale.for_currencies({c.currency for c in rows}, today=today)
    ranked = [(c, score_customer(c, weights, scale)) for c in rows]
    direction = 1 if lowest_first else -1
    ranked.sort(key=lambda pair: (direction * pair[1].score, pair[0].name, pair[0].pk))
    return ranked[:limit] if limit else ranked


def with_worth_it_inputs(queryset: QuerySet[Customer], *, today: date) -> QuerySet[Customer]:
    """Customers annotated with the raw inputs of the score over the 12 months ending `today`."""
    start = window_start(today)
    received = Allocation.objects.filter(
        payment__customer=OuterRef("pk"),
        payment__currency=OuterRef("currency"),
        payment__received_on__gt=start,
        payment__received_on__lte=today,
    ).order_by()
    days_late = Greatest(DaysBetween(F("payment__received_on"), F("invoice__due_date")), Value(0))
    return queryset.annotate(
        revenue_paid=_sum_of(received, "payment__customer", F("amount"), MONEY),
        late_amount_days=_sum_of(received, "payment__customer", F("amount") * days_late, MONEY),
        interaction_count=_count_of(
            Interaction.objects.filter(occurred_at__date__gt=start, occurred_at__date__lte=today)
        ),
        minutes_spent=_sum_of(
            Interaction.objects.filter(
                customer=OuterRef("pk"), occurred_at__date__gt=start, occurred_at__date__lte=today
            ).order_by(),
            "customer",
            F("minutes_spent"),
            IntegerField(),
        ),
        reminder_count=_count_of(Reminder.objects.filter(run_on__gt=start, run_on__lte=today)),
        broken_agreement_count=_count_of(
            Agreement.objects.filter(state=AgreementState.BROKEN, closed_on__gt=start, closed_on__lte=today)
        ),
        excuse_count=_count_of(Excuse.objects.filter(given_on__gt=start, given_on__lte=today)),
        complaint_count=_count_of(Complaint.objects.filter(opened_on__gt=start, opened_on__lte=today)),
        rejected_complaint_count=_count_of(
            Complaint.objects.filter(
                outcome=ComplaintOutcome.REJECTED, resolved_on__gt=start, resolved_on__lte=today
            )
        ),
    )


def with_grouped_inputs(
    customers: list[Customer], queryset: QuerySet[Customer], *, today: date
) -> list[Customer]:
    """The same inputs as `with_worth_it_inputs`, set on `customers` from one GROUP BY query per source."""
    inputs = grouped_inputs(queryset, today=today)
    for customer in customers:
        found = inputs.get(customer.pk, {})
        customer.revenue_paid = cents(found.get("revenue_paid"))
        customer.late_amount_days = found.get("late_amount_days") or Decimal("0.00")
        for name in INPUT_COUNTS:
            setattr(customer, name, found.get(name) or 0)
    return customers


# The sources of the inputs, by name, and the inputs each gives (`grouped_inputs(sources=...)`).
SOURCE_INPUTS = {
    "payments": ("revenue_paid", "late_amount_days"),
    "interactions": ("interaction_count", "minutes_spent"),
    "reminders": ("reminder_count",),
    "broken_agreements": ("broken_agreement_count",),
    "excuses": ("excuse_count",),
    "complaints": ("complaint_count",),
    "rejected_complaints": ("rejected_complaint_count",),
}


def grouped_inputs(
    queryset: QuerySet[Customer], *, today: date, sources: set[str] | None = None
) -> dict[int, dict]:
    """The raw inputs of the customers in `queryset` by customer id, one GROUP BY query per source
    (all of `SOURCE_INPUTS`, or just `sources`); a customer with no rows in a source is left out of it."""
    start = window_start(today)
    in_scope = queryset.order_by().values("pk")
    days_late = Greatest(DaysBetween(F("payment__received_on"), F("invoice__due_date")), Value(0))
    queries = {
        "payments": (
            Allocation.objects.filter(
                payment__customer__in=in_scope,
                payment__currency=F("payment__customer__currency"),
                payment__received_on__gt=start,
                payment__received_on__lte=today,
            ),
            "payment__customer_id",
            {
                "revenue_paid": Sum("amount"),
                "late_amount_days": Sum(F("amount") * days_late, output_field=MONEY),
            },
        ),
        "interactions": (
            Interaction.objects.filter(occurred_at__date__gt=start, occurred_at__date__lte=today),
            "customer_id",
            {"interaction_count": Count("pk"), "minutes_spent": Sum("minutes_spent")},
        ),
        "reminders": (
            Reminder.objects.filter(run_on__gt=start, run_on__lte=today),
            "customer_id",
            {"reminder_count": Count("pk")},
        ),
        "broken_agreements": (
            Agreement.objects.filter(state=AgreementState.BROKEN, closed_on__gt=start, closed_on__lte=today),
            "customer_id",
            {"broken_agreement_count": Count("pk")},
        ),
        "excuses": (
            Excuse.objects.filter(given_on__gt=start, given_on__lte=today),
            "customer_id",
            {"excuse_count": Count("pk")},
        ),
        "complaints": (
            Complaint.objects.filter(opened_on__gt=start, opened_on__lte=today),
            "customer_id",
            {"complaint_count": Count("pk")},
        ),
        "rejected_complaints": (
            Complaint.objects.filter(
                outcome=ComplaintOutcome.REJECTED, resolved_on__gt=start, resolved_on__lte=today
            ),
            "customer_id",
            {"rejected_complaint_count": Count("pk")},
        ),
    }
    inputs: dict[int, dict] = defaultdict(dict)
    for name, (source, customer_field, aggregates) in queries.items():
        if sources is not None and name not in sources:
            continue
        if customer_field == "customer_id":
            source = source.filter(customer__in=in_scope)
        for row in source.order_by().values(customer_field).annotate(**aggregates):
            inputs[row[customer_field]].update({name: row[name] for name in aggregates})
    return inputs


INPUT_COUNTS = (
    "interaction_count",
    "minutes_spent",
    "reminder_count",
    "broken_agreement_count",
    "excuse_count",
    "complaint_count",
    "rejected_complaint_count",
)


def _count_of(queryset: QuerySet) -> Coalesce:
    rows = queryset.filter(customer=OuterRef("pk")).order_by().values("customer").annotate(n=Count("pk"))
    return Coalesce(Subquery(rows.values("n"), output_field=IntegerField()), Value(0))


def _sum_of(queryset: QuerySet, group_by: str, expression, output_field) -> Coalesce:
    rows = queryset.values(group_by).annotate(total=Sum(expression, output_field=output_field))
    zero = ZERO if output_field is MONEY else Value(0)
    subquery = Subquery(rows.values("total"), output_field=output_field)
    return Coalesce(subquery, zero, output_field=output_field)


@dataclass
class RevenueScale:
    """Revenue paid in the window by every customer of each currency, sorted, to find percentiles."""

    revenues: dict[str, list[Decimal]]
    customer_counts: dict[str, int]

    @classmethod
    def for_currencies(cls, currencies: set[str], *, today: date) -> RevenueScale:
        """The scale of each currency: from the kept snapshot when no allocation arrived since, else rebuilt.

        At most four queries (fingerprint, snapshots, rebuild and save), plus one for customer counts.
        """
        if not currencies:
            return cls({}, {})
        fingerprint = str(Allocation.objects.aggregate(last=Max("pk"))["last"] or 0)
        kept = {
            snapshot.currency: [Decimal(value) for value in snapshot.revenues]
            for snapshot in RevenueScaleSnapshot.objects.filter(
                currency__in=currencies, window_end=today, fingerprint=fingerprint
            )
        }
        stale = currencies - set(kept)
        if stale:
            rebuilt = cls._revenues(stale, today=today)
            RevenueScaleSnapshot.objects.bulk_create(
                [
                    RevenueScaleSnapshot(
                        currency=currency,
                        window_end=today,
                        fingerprint=fingerprint,
                        revenues=[str(value) for value in rebuilt.get(currency, [])],
                    )
                    for currency in sorted(stale)
                ],
                update_conflicts=True,
                unique_fields=["currency", "window_end"],
                update_fields=["fingerprint", "revenues", "computed_at"],
            )
            kept.update(rebuilt)
        counts = dict(
            Customer.objects.filter(currency__in=currencies)
            .order_by()
            .values_list("currency")
            .annotate(n=Count("pk"))
        )
        return cls(kept, counts)

    @staticmethod
    def _revenues(currencies: set[str], *, today: date) -> dict[str, list[Decimal]]:
        """Sorted revenues paid in the window by each paying customer of these currencies. One query."""
        start = window_start(today)
        paid = (
            Allocation.objects.filter(
                payment__customer__currency__in=currencies,
                payment__currency=F("payment__customer__currency"),
                payment__received_on__gt=start,
                payment__received_on__lte=today,
            )
            .order_by()
            .values("payment__customer_id", "payment__currency")
            .annotate(total=Sum("amount"))
        )
        revenues: dict[str, list[Decimal]] = defaultdict(list)
        for row in paid:
            revenues[row["payment__currency"]].append(cents(row["total"]))
        for values in revenues.values():
            values.sort()
        return dict(revenues)

    def percentile(self, currency: str, revenue: Decimal) -> Decimal:
        """Share (0-1) of the currency's customers who paid no more than `revenue`; 0 for no revenue."""
        total = self.customer_counts.get(currency, 0)
        if revenue <= 0 or not total:
            return Decimal("0")
        # Customers with no payment in the window paid 0, below any positive revenue.
        paying = self.revenues.get(currency, [])
        not_more = (total - len(paying)) + bisect.bisect_right(paying, revenue)
        return min(Decimal(not_more) / Decimal(total), Decimal("1"))


def score_customer(customer: Customer, weights: WorthItSettings, scale: RevenueScale) -> WorthIt:
    """The score of one annotated customer (see `with_worth_it_inputs`), with every component."""
    inputs = ScoreInputs.of(customer)
    share = scale.percentile(inputs.currency, inputs.revenue)
    return assemble(inputs, weights, revenue_points(weights, share), percent_of(share))


# The effort component each count annotation (and `WorthItScore` column) feeds.
COUNT_FIELDS = {
    "interactions": "interaction_count",
    "minutes": "minutes_spent",
    "reminders": "reminder_count",
    "broken_agreements": "broken_agreement_count",
    "excuses": "excuse_count",
    "complaints": "complaint_count",
    "rejected_complaints": "rejected_complaint_count",
}


@dataclass(frozen=True)
class ScoreInputs:
    """What a customer's score is made of besides its revenue rank: what `WorthItScore` keeps."""

    currency: str
    revenue: Decimal
    days_late: Decimal
    counts: dict[str, int]

    @classmethod
    def of(cls, customer) -> ScoreInputs:
        """From a customer annotated by `with_worth_it_inputs` or `with_grouped_inputs`."""
        revenue = cents(customer.revenue_paid)
        if revenue > 0:
            days_late = (Decimal(customer.late_amount_days) / revenue).quantize(POINT)
        else:
            days_late = Decimal("0.0")
        counts = {name: int(getattr(customer, field) or 0) for name, field in COUNT_FIELDS.items()}
        return cls(customer.currency, revenue, days_late, counts)


def revenue_points(weights: WorthItSettings, share: Decimal) -> Decimal:
    """The points of a revenue that `share` (0-1) of its currency's customers did not exceed."""
    value_weight_total = weights.revenue_weight + weights.punctuality_weight
    return _points(_value_points(weights.revenue_weight, value_weight_total) * share)


def percent_of(share: Decimal) -> int:
    """The whole percent the revenue component's detail shows."""
    return int(share * 100)


def assemble(inputs: ScoreInputs, weights: WorthItSettings, revenue_pts: Decimal, percent: int) -> WorthIt:
    """The score and its components from the inputs and the revenue points already worked out."""
    value_weight_total = weights.revenue_weight + weights.punctuality_weight
    components = [
        _revenue_component(inputs, weights, revenue_pts, percent),
        _punctuality_component(inputs, weights, value_weight_total),
        *effort_components(inputs, weights),
    ]
    total = sum((c.points for c in components), Decimal("0"))
    return WorthIt(score=score_of(total), components=components, currency=inputs.currency)


def score_of(total_points: Decimal) -> int:
    """Points summed over the components, kept within 0-100 and rounded half up."""
    return int(max(Decimal("0"), min(HUNDRED, total_points)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def effort_components(inputs: ScoreInputs, weights: WorthItSettings) -> list[WorthItComponent]:
    components = []
    for name, label, prefix in EFFORT_COMPONENTS:
        weight = getattr(weights, f"{prefix}_weight")
        cap = getattr(weights, f"{prefix}_cap")
        count = inputs.counts[name]
        share = min(Decimal(count) / Decimal(cap), Decimal("1"))
        points = -_points(weight * share)
        components.append(
            WorthItComponent(name, label, count, weight, points, detail=f"full {weight} points off at {cap}")
        )
    return components


def _revenue_component(inputs: ScoreInputs, weights, points: Decimal, percent: int) -> WorthItComponent:
    detail = f"paid more than or as much as {percent}% of {inputs.currency} customers"
    label = f"Revenue paid in 12 months ({inputs.currency})"
    return WorthItComponent("revenue", label, inputs.revenue, weights.revenue_weight, points, detail)


def _punctuality_component(inputs: ScoreInputs, weights, value_weight_total) -> WorthItComponent:
    if inputs.revenue > 0:
        share = max(Decimal("0"), 1 - inputs.days_late / Decimal(weights.punctuality_zero_at_days))
        detail = f"nothing earned at {weights.punctuality_zero_at_days} days late"
    else:
        share = Decimal("0.5")
        detail = "no payment in 12 months: half the points"
    points = _points(_value_points(weights.punctuality_weight, value_weight_total) * share)
    label = "Average days late (weighted by amount)"
    weight = weights.punctuality_weight
    return WorthItComponent("punctuality", label, inputs.days_late, weight, points, detail)


def value_points(weights: WorthItSettings) -> dict[str, Decimal]:
    """The most points revenue and punctuality can each earn with these weights."""
    total = weights.revenue_weight + weights.punctuality_weight
    return {
        "revenue": _points(_value_points(weights.revenue_weight, total)),
        "punctuality": _points(_value_points(weights.punctuality_weight, total)),
    }


def _value_points(weight: Decimal, total: Decimal) -> Decimal:
    return HUNDRED * weight / total if total else Decimal("0")


def _points(amount: Decimal) -> Decimal:
    return Decimal(amount).quantize(POINT, rounding=ROUND_HALF_UP)
