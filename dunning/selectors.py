"""Reads for the dunning run and its pages: the facts the engine decides on, loaded per batch.

Every function here takes a batch of customer ids and answers in one query, so a batch costs the
same number of queries whether it holds ten invoices or ten thousand.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import (
    Avg,
    Case,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from agreements.choices import AgreementState
from agreements.models import Agreement
from calls.models import Complaint, PaymentClaim
from customers.access import Actor, scope_to_portfolio
from customers.models import Contact, Customer
from invoices.choices import InvoiceStatus
from invoices.models import Allocation, Invoice
from invoices.selectors import MONEY

from .choices import DeliveryStatus, ProposalState
from .engine import PolicyRules, StepRule
from .models import Policy, Proposal, Reminder, ReminderInvoice, Step
from .ranking import Stake

DEFAULT_LATENESS_THRESHOLD = 30  # days, for customers without a segment


@dataclass(frozen=True)
class PolicyBook:
    """Every policy with its steps, and which applies to which segment."""

    steps: dict[int, Step]
    rules: dict[int, PolicyRules]
    by_segment: dict[int, int]
    default_policy_id: int | None

    def rules_for(self, segment_id: int | None) -> PolicyRules | None:
        policy_id = self.by_segment.get(segment_id, self.default_policy_id)
        return self.rules.get(policy_id) if policy_id is not None else None


def policy_book() -> PolicyBook:
    """All policies and steps, in two queries, once per run (a handful of rows)."""
    policies = list(Policy.objects.prefetch_related("steps"))
    steps = {step.pk: step for policy in policies for step in policy.steps.all()}
    rules = {
        policy.pk: PolicyRules(
            steps=[StepRule(step.pk, step.offset_days) for step in policy.steps.all()],
            business_days_only=policy.business_days_only,
        )
        for policy in policies
    }
    by_segment = {policy.segment_id: policy.pk for policy in policies if policy.segment_id}
    default = next((policy.pk for policy in policies if policy.is_default), None)
    return PolicyBook(steps=steps, rules=rules, by_segment=by_segment, default_policy_id=default)


def segments_of(customer_ids: Sequence[int]) -> dict[int, int | None]:
    return dict(Customer.objects.filter(pk__in=list(customer_ids)).values_list("pk", "segment_id"))


def customers_in_batch(customer_ids: Sequence[int]) -> dict[int, Customer]:
    return Customer.objects.in_bulk(list(customer_ids))


def primary_contacts(customer_ids: Sequence[int]) -> dict[int, Contact]:
    contacts = Contact.objects.filter(customer_id__in=list(customer_ids), is_primary=True)
    return {contact.customer_id: contact for contact in contacts}


def invoices_to_consider(customer_ids: Sequence[int], *, book: PolicyBook, today: date) -> QuerySet:
    """The batch's open invoices whose current step was not sent yet (`_with_a_step_due`): the only
    ones the engine can put on a reminder today. Not every open invoice: a batch used to read them all,
    and every reminder line ever written for them, to find the few with a step due.
    """
    invoices = Invoice.objects.filter(customer_id__in=list(customer_ids))
    return (
        _with_a_step_due(invoices, book, today)
        .annotate(open_amount=ExpressionWrapper(F("amount") - F("allocated_amount"), output_field=MONEY))
        .order_by("customer_id", "due_date", "number")
        # Plain rows, not model instances: instantiating models was a third of a batch's time.
        .values_list(
            "pk",
            "number",
            "customer_id",
            "issue_date",
            "due_date",
            "amount",
            "currency",
            "status",
            "open_amount",
            named=True,
        )  # fmt: skip
    )


def customers_with_a_step_due(book: PolicyBook, *, today: date) -> QuerySet:
    """Ids of the customers with an open invoice whose current step (by their policy) was not sent.

    The day's run hands only these (and the customers with an agreement to settle) to its batches:
    on a real ledger most customers have nothing due on a given day, and on a same-day repeat none
    has. It is the engine's rule (`engine.step_due_for`) in SQL, one statement for the whole ledger,
    and deliberately a little wider than the engine: pauses, complaints, active agreements and
    business days are left to the engine, which decides each listed customer exactly. So it may list
    a customer who then gets nothing, never leave out one who would get a reminder.
    """
    return (
        _with_a_step_due(Invoice.objects.all(), book, today)
        .values_list("customer_id", flat=True)
        .distinct()
        .order_by("customer_id")
    )


def _with_a_step_due(invoices: QuerySet, book: PolicyBook, today: date) -> QuerySet:
    """The open invoices (with money open) of `invoices` whose current step under their customer's
    policy was not sent for them yet, annotated with that step's offset (`current_offset`)."""
    current_offset = _current_offset(book, today)
    if current_offset is None:
        return invoices.none()
    sent_at_or_past = ReminderInvoice.objects.filter(
        invoice_id=OuterRef("pk"), reminder__step__offset_days__gte=OuterRef("current_offset")
    )
    earliest = min(step.offset_days for rules in book.rules.values() for step in rules.steps)
    return (
        invoices.filter(
            status=InvoiceStatus.OPEN,
            amount__gt=F("allocated_amount"),
            due_date__lte=today - timedelta(days=earliest),  # for the index; the CASE says it too
        )
        .annotate(current_offset=current_offset)
        .filter(current_offset__isnull=False)
        .filter(~Exists(sent_at_or_past))
    )


def _current_offset(book: PolicyBook, today: date) -> Case | None:
    """SQL: the offset of the step an invoice is at today under its customer's policy, else NULL.

    One WHEN per policy step, highest offset first, so the first that matches is the step reached
    (due on or before today minus its offset). The customer's policy is its segment's, else the default.
    """
    mapped_segments = list(book.by_segment)
    whens = []
    for policy_id, rules in book.rules.items():
        segments = [segment for segment, policy in book.by_segment.items() if policy == policy_id]
        applies = Q(customer__segment_id__in=segments) if segments else Q(pk__in=[])
        if policy_id == book.default_policy_id:
            applies |= Q(customer__segment_id__isnull=True) | ~Q(customer__segment_id__in=mapped_segments)
        for step in sorted(rules.steps, key=lambda step: step.offset_days, reverse=True):
            reached = Q(due_date__lte=today - timedelta(days=step.offset_days))
            whens.append(When(applies & reached, then=Value(step.offset_days)))
    return Case(*whens, default=None, output_field=IntegerField()) if whens else None


def customers_with_an_agreement_to_settle(today: date) -> QuerySet:
    return (
        Agreement.objects.filter(state=AgreementState.ACTIVE, made_on__lte=today)
        .values_list("customer_id", flat=True)
        .distinct()
        .order_by("customer_id")
    )


def invoices_under_open_complaint(customer_ids: Sequence[int]) -> set[int]:
    through = Complaint.invoices.through.objects.filter(
        complaint__customer_id__in=list(customer_ids), complaint__resolved_on__isnull=True
    )
    return set(through.values_list("invoice_id", flat=True))


def invoices_under_payment_claim(customer_ids: Sequence[int], *, today: date) -> set[int]:
    """Invoices the customer reported already paid whose pause runs past today."""
    through = PaymentClaim.invoices.through.objects.filter(
        paymentclaim__customer_id__in=list(customer_ids), paymentclaim__pause_until__gt=today
    )
    return set(through.values_list("invoice_id", flat=True))


def invoices_under_active_agreement(customer_ids: Sequence[int]) -> set[int]:
    through = Agreement.invoices.through.objects.filter(
        agreement__customer_id__in=list(customer_ids), agreement__state=AgreementState.ACTIVE
    )
    return set(through.values_list("invoice_id", flat=True))


def offsets_reminded(invoice_ids: Sequence[int]) -> dict[int, frozenset[int]]:
    """For each of these invoices, the step offsets it was already listed on a reminder for.

    Looked up by invoice (the reminder lines' invoice index), not by joining every open invoice of
    the batch's customers: a batch reads a few thousand lines, not a scan of millions.
    """
    lines = ReminderInvoice.objects.filter(invoice_id__in=list(invoice_ids)).values_list(
        "invoice_id", "reminder__step__offset_days"
    )
    offsets: dict[int, set[int]] = defaultdict(set)
    for invoice_id, offset in lines:
        offsets[invoice_id].add(offset)
    return {invoice_id: frozenset(values) for invoice_id, values in offsets.items()}


def customers_with_broken_agreements(
    customer_ids: Sequence[int] | None, *, today: date, at_least: int = 2
) -> dict:
    """Customers (of `customer_ids`, or all) who broke `at_least` agreements in the twelve months up
    to today: id -> count."""
    agreements = Agreement.objects.all()
    if customer_ids is not None:
        agreements = agreements.filter(customer_id__in=list(customer_ids))
    rows = (
        agreements.filter(
            state=AgreementState.BROKEN,
            closed_on__gt=today - timedelta(days=365),
            closed_on__lte=today,
        )
        .values("customer_id")
        .annotate(broken=Count("id"))
        .filter(broken__gte=at_least)
    )
    return {row["customer_id"]: row["broken"] for row in rows}


def average_lateness(customer_ids: Sequence[int] | None, *, today: date) -> dict[int, float]:
    """Average days late of the money received in the last twelve months, per customer (of
    `customer_ids`, or every customer: one row each, streamed).

    Each allocation counts once: the days between the invoice's due date and the payment (zero for
    a payment on time). Aggregated in SQL.
    """
    received = F("payment__received_on")
    due = F("invoice__due_date")
    lateness = Case(
        When(
            payment__received_on__gt=due, then=ExpressionWrapper(received - due, output_field=DurationField())
        ),
        default=Value(timedelta(0)),
        output_field=DurationField(),
    )
    allocations = Allocation.objects.all()
    if customer_ids is not None:
        allocations = allocations.filter(invoice__customer_id__in=list(customer_ids))
    rows = (
        allocations.filter(
            payment__received_on__gt=today - timedelta(days=365),
            payment__received_on__lte=today,
        )
        .values("invoice__customer_id")
        .annotate(lateness=Avg(lateness))
        .order_by()
    )
    return {row["invoice__customer_id"]: _as_days(row["lateness"]) for row in rows.iterator(chunk_size=5000)}


def _as_days(value: timedelta | float | None) -> float:
    if value is None:
        return 0.0
    if isinstance(value, timedelta):
        return value.total_seconds() / 86400
    return float(value) / 86_400_000_000  # SQLite averages durations as microseconds


def recently_decided_proposals(customer_ids: Sequence[int], *, kind: str, since: date) -> set[int]:
    """Customers with a proposal of this kind still open, or dismissed since `since`."""
    proposals = Proposal.objects.filter(customer_id__in=list(customer_ids), kind=kind).filter(
        Q(state=ProposalState.PROPOSED) | Q(state=ProposalState.DISMISSED, decided_on__gte=since)
    )
    return set(proposals.values_list("customer_id", flat=True))


def open_proposals(*, user: Actor) -> QuerySet[Proposal]:
    """Proposals waiting for a credit manager, the most pressing first (highest stake, then the
    oldest overdue invoice, then the oldest proposal), with the customer and its segment.
    The order runs on the (state, -stake, oldest_due_date, id) index, so a page of it is cheap."""
    proposals = Proposal.objects.filter(state=ProposalState.PROPOSED).select_related("customer__segment")
    return scope_to_portfolio(proposals, user).order_by(
        "-stake", F("oldest_due_date").asc(nulls_last=True), "id"
    )


def customers_with_open_proposals(kind: str, *, figures_before: date | None = None) -> set[int]:
    """Customers with an open proposal of this kind; with `figures_before`, only those whose figures
    are of an earlier day (or none): the ones a run of that day still has to bring up to date."""
    proposals = Proposal.objects.filter(kind=kind, state=ProposalState.PROPOSED)
    if figures_before is not None:
        proposals = proposals.filter(Q(figures_on__isnull=True) | Q(figures_on__lt=figures_before))
    return set(proposals.values_list("customer_id", flat=True))


def prepayment_candidates(*, today: date, at_least: int, kind: str, quiet_since: date) -> set[int]:
    """Customers who could get a new proposal of `kind` today: `at_least` agreements broken in the
    twelve months up to today, not on prepayment only, and no proposal of that kind open or dismissed
    since `quiet_since`. One grouped statement over the broken agreements, the exclusions as NOT
    EXISTS, so the costly lateness aggregate is read afterwards for these few customers alone; on a
    same-day repeat, when every such customer got its proposal, it returns next to nothing.
    """
    quiet = Proposal.objects.filter(customer_id=OuterRef("customer_id"), kind=kind).filter(
        Q(state=ProposalState.PROPOSED) | Q(state=ProposalState.DISMISSED, decided_on__gte=quiet_since)
    )
    rows = (
        Agreement.objects.filter(
            state=AgreementState.BROKEN,
            closed_on__gt=today - timedelta(days=365),
            closed_on__lte=today,
            customer__prepayment_only=False,
        )
        .filter(~Exists(quiet))
        .values("customer_id")
        .annotate(broken=Count("id"))
        .filter(broken__gte=at_least)
        .values_list("customer_id", flat=True)
    )
    return set(rows)


def open_proposals_of(customer_ids: Sequence[int]) -> list[Proposal]:
    return list(Proposal.objects.filter(customer_id__in=list(customer_ids), state=ProposalState.PROPOSED))


def _amounts_at_stake(customer_ids: Sequence[int], today: date) -> dict[int, dict]:
    """Per customer, in its own currency: money open on undisputed invoices, the overdue part and
    the oldest overdue due date. One query. (Invoices in another currency than the customer's are
    left out here rather than added to it; the customer page shows them.)"""
    open_part = F("amount") - F("allocated_amount")
    overdue = Q(due_date__lt=today)
    zero = Value(Decimal("0.00"))
    rows = (
        Invoice.objects.filter(
            customer_id__in=list(customer_ids),
            status=InvoiceStatus.OPEN,
            allocated_amount__lt=F("amount"),
            currency=F("customer__currency"),
        )
        .values("customer_id")
        .annotate(
            open_amount=Coalesce(Sum(open_part, output_field=MONEY), zero, output_field=MONEY),
            overdue_amount=Coalesce(
                Sum(open_part, filter=overdue, output_field=MONEY), zero, output_field=MONEY
            ),
            oldest_due_date=Min("due_date", filter=overdue),
        )
        .order_by()
    )
    return {row.pop("customer_id"): row for row in rows}


def stakes_for(
    customers: Sequence[Customer], *, today: date, broken: dict | None = None, lateness: dict | None = None
) -> dict[int, Stake]:
    """What is at stake with each customer today (dunning.ranking). `broken` (all broken counts)
    and `lateness` may be passed in when the caller has read them for the same customers already."""
    ids = [customer.pk for customer in customers]
    broken = customers_with_broken_agreements(ids, today=today, at_least=1) if broken is None else broken
    lateness = average_lateness(ids, today=today) if lateness is None else lateness
    amounts = _amounts_at_stake(ids, today)
    stakes = {}
    for customer in customers:
        row = amounts.get(customer.pk, {})
        stakes[customer.pk] = Stake(
            currency=customer.currency,
            open_amount=row.get("open_amount", Decimal("0.00")),
            overdue_amount=row.get("overdue_amount", Decimal("0.00")),
            oldest_due_date=row.get("oldest_due_date"),
            broken_agreements=broken.get(customer.pk, 0),
            average_days_late=Decimal(str(round(lateness.get(customer.pk, 0.0), 1))),
            lateness_threshold_days=lateness_threshold(customer),
            days_late_exact=lateness.get(customer.pk, 0.0),
        )
    return stakes


def lateness_threshold(customer: Customer) -> int:
    return customer.segment.lateness_threshold_days if customer.segment else DEFAULT_LATENESS_THRESHOLD


def decided_proposals(*, user: Actor, limit: int = 50) -> list[Proposal]:
    proposals = Proposal.objects.exclude(state=ProposalState.PROPOSED).select_related(
        "customer", "decided_by"
    )
    return list(scope_to_portfolio(proposals, user).order_by("-decided_on", "-id")[:limit])


def reminders_to_deliver(*, today: date) -> list[int]:
    """Ids of the reminders still to deliver: pending ones made by a run up to today, oldest first."""
    pending = Reminder.objects.filter(status=DeliveryStatus.PENDING, run_on__lte=today)
    return list(pending.order_by("pk").values_list("pk", flat=True))


_TIMELINE_FIELDS = (
    "customer",
    "run_on",
    "channel",
    "tone",
    "subject",
    "status",
    "sent_at",
    "letter_pdf",
    "created_at",
)


def reminders_for_timeline(*, customer: Customer) -> QuerySet[Reminder]:
    """The customer's reminders as the customer page's timeline shows them, with their invoices."""
    return Reminder.objects.filter(customer=customer).only(*_TIMELINE_FIELDS).prefetch_related("invoices")
