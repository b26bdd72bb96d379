"""Writes for collectors: logging a call with everything that came of it, complaints and tasks.

The browser form, the API and the dunning run all call these, so a call logged anywhere has the
same effects. Each takes the acting user (SYSTEM for the dunning run) and asks customers.access.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from agreements.choices import AgreementKind
from agreements.services import InstalmentTerms, create_agreement
from audit.records import Change, record_changes
from customers.access import Actor, Capability, Person, acting_user, require
from customers.models import Contact, Customer
from customers.signals import announce_change
from invoices.choices import InvoiceStatus
from invoices.models import Invoice
from invoices.services import set_invoice_status

from .choices import ComplaintOutcome, InteractionChannel, Outcome, PlanProposalState, TaskKind, TaskStatus
from .models import Complaint, ComplaintAttachment, Excuse, Interaction, PaymentClaim, PlanProposal, Task

# How far ahead of this server's clock a caller's clock may run: a call logged "now" from a laptop whose
# clock is a little fast is still accepted.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class ExcuseInput:
    category: str
    words: str = ""


@dataclass(frozen=True)
class ComplaintInput:
    category: str
    description: str


@dataclass(frozen=True)
class CallLog:
    """Everything one call produced, as a collector enters it in one form."""

    outcome: str
    minutes_spent: int = 0
    notes: str = ""
    channel: str = InteractionChannel.PHONE
    direction: str = "outbound"
    contact: Contact | None = None
    occurred_at: datetime | None = None
    next_action_on: date | None = None
    promise: InstalmentTerms | None = None
    plan: Sequence[InstalmentTerms] = ()
    excuse: ExcuseInput | None = None
    complaint: ComplaintInput | None = None
    invoices: Sequence[Invoice] = field(default_factory=tuple)


def log_call(
    *, customer: Customer, user: Actor, call: CallLog, today: date, now: datetime | None = None
) -> Interaction:
    """Record a call and what came of it, all or nothing.

    A call happens between the moment the customer was created and `now` (the clock, unless given).

    A promise or a plan becomes an Agreement made in this interaction; an excuse and a complaint are
    recorded against the chosen invoices (a complaint disputes them, which pauses their reminders).
    The customer's open call tasks due by today are done, and a next action date becomes a task.
    """
    require(user, Capability.LOG_CALLS)
    now = now or timezone.now()
    validate_call(customer=customer, call=call, today=today, now=now)
    with transaction.atomic():
        agreement = None
        if call.promise or call.plan:
            kind = AgreementKind.PROMISE if call.promise else AgreementKind.PLAN
            agreement = create_agreement(
                customer=customer,
                kind=kind,
                instalments=[call.promise] if call.promise else list(call.plan),
                invoices=call.invoices,
                made_on=today,
                made_by=user,
            )
        interaction = Interaction(
            customer=customer,
            contact=call.contact,
            user=acting_user(user),
            occurred_at=call.occurred_at or now,
            channel=call.channel,
            direction=call.direction,
            outcome=call.outcome,
            minutes_spent=call.minutes_spent,
            notes=call.notes,
            next_action_on=call.next_action_on,
            agreement=agreement,
        )
        interaction.full_clean()
        interaction.save()
        if call.excuse:
            record_excuse(
                customer=customer,
                excuse=call.excuse,
                invoices=call.invoices,
                today=today,
                interaction=interaction,
                actor=user,
            )
        if call.complaint:
            open_complaint(
                customer=customer,
                complaint=call.complaint,
                invoices=call.invoices,
                today=today,
                interaction=interaction,
                actor=user,
            )
        complete_tasks_handled_by_call(customer=customer, today=today)
        if call.next_action_on:
            create_task(
                customer=customer,
                kind=TaskKind.FOLLOW_UP_PROMISE if agreement else TaskKind.CALL,
                reason=f"Follow up the call of {today:%d %b}"
                + (f": {call.notes[:120]}" if call.notes else ""),
                due_on=call.next_action_on,
                assigned_to=customer.collector or acting_user(user),
                actor=user,
            )
        announce_change(
            customer_ids={customer.pk},
            facts={"contacts", "tasks"},
            earliest_day=timezone.localdate(interaction.occurred_at),
        )
        return interaction


def validate_call(*, customer: Customer, call: CallLog, today: date, now: datetime | None = None) -> None:
    errors: dict[str, list[str]] = {}
    if call.occurred_at is not None:
        errors.update(_occurred_at_errors(customer=customer, occurred_at=call.occurred_at, now=now))
    if call.outcome not in Outcome.values:
        errors.setdefault("outcome", []).append(f"Unknown outcome {call.outcome!r}.")
    if call.minutes_spent is None or call.minutes_spent < 0 or call.minutes_spent > 24 * 60:
        errors.setdefault("minutes_spent", []).append("Minutes spent must be between 0 and 1440.")
    if call.promise and call.plan:
        errors.setdefault("plan", []).append("Record either a promise or a payment plan, not both.")
    if call.contact and call.contact.customer_id != customer.pk:
        errors.setdefault("contact", []).append("This contact belongs to another customer.")
    if call.next_action_on and call.next_action_on < today:
        errors.setdefault("next_action_on", []).append("The next action cannot be in the past.")
    if call.complaint and not call.invoices:
        errors.setdefault("invoices", []).append("Choose the invoices the complaint is about.")
    if any(invoice.customer_id != customer.pk for invoice in call.invoices):
        errors.setdefault("invoices", []).append("Every invoice must belong to this customer.")
    if errors:
        raise ValidationError(errors)


def _occurred_at_errors(*, customer: Customer, occurred_at: datetime, now: datetime | None) -> dict:
    """A call cannot happen before the customer existed in CreditDesk, nor in the future."""
    now = now or timezone.now()
    if occurred_at > now + CLOCK_SKEW:
        return {"occurred_at": ["A call cannot be in the future."]}
    if customer.created_at and occurred_at < customer.created_at:
        since = f"{timezone.localtime(customer.created_at):%Y-%m-%d %H:%M}"
        return {"occurred_at": [f"A call cannot be before the customer existed (created {since})."]}
    return {}


def record_excuse(
    *,
    customer: Customer,
    excuse: ExcuseInput,
    actor: Actor,
    invoices: Sequence[Invoice] = (),
    today: date,
    interaction: Interaction | None = None,
) -> Excuse:
    require(actor, Capability.LOG_CALLS)
    record = Excuse(
        customer=customer,
        interaction=interaction,
        category=excuse.category,
        words=excuse.words,
        given_on=today,
    )
    record.full_clean()
    record.save()
    record.invoices.set(invoices)
    announce_change(customer_ids={customer.pk}, facts={"excuses"})
    return record


def open_complaint(
    *,
    customer: Customer,
    complaint: ComplaintInput,
    actor: Actor,
    invoices: Sequence[Invoice],
    today: date,
    interaction: Interaction | None = None,
) -> Complaint:
    """Open a dispute about invoices; they are marked disputed, which pauses their reminders."""
    require(actor, Capability.LOG_CALLS)
    record = Complaint(
        customer=customer,
        interaction=interaction,
        category=complaint.category,
        description=complaint.description,
        opened_on=today,
    )
    record.full_clean()
    with transaction.atomic():
        record.save()
        record.invoices.set(invoices)
        disputed = list(
            Invoice.objects.select_for_update()
            .filter(pk__in=[i.pk for i in invoices], status=InvoiceStatus.OPEN)
            .values_list("pk", "customer_id", "number")
        )
        Invoice.objects.filter(pk__in=[pk for pk, _, _ in disputed]).update(status=InvoiceStatus.DISPUTED)
        record_changes(
            Invoice,
            (Change(pk, customer_id, number, {"status": (InvoiceStatus.OPEN, InvoiceStatus.DISPUTED)})
             for pk, customer_id, number in disputed),
        )  # fmt: skip
        # Disputed invoices still count as receivables, so only today's figures move.
        announce_change(customer_ids={customer.pk}, facts={"complaints", "invoices"}, earliest_day=today)
    return record


def resolve_complaint(
    *, complaint: Complaint, outcome: str, user: Actor, today: date, cancel_invoices: bool = False
) -> Complaint:
    """Close a complaint as upheld or rejected; its invoices leave the disputed state.

    Rejected: the invoices are owed again and the chase resumes. Upheld: the invoices are cancelled
    when `cancel_invoices` is set (the customer was right), else reopened for a corrected amount.
    Only a credit manager resolves (customers.access: RESOLVE_COMPLAINTS).
    """
    require(user, Capability.RESOLVE_COMPLAINTS)
    if not complaint.is_open:
        raise ValidationError({"outcome": "This complaint is already resolved."})
    if outcome not in ComplaintOutcome.values:
        raise ValidationError({"outcome": "Choose upheld or rejected."})
    if today < complaint.opened_on:
        raise ValidationError({"resolved_on": "A complaint cannot be resolved before it was opened."})
    with transaction.atomic():
        complaint.outcome = outcome
        complaint.resolved_on = today
        complaint.resolved_by = acting_user(user)
        complaint.save(update_fields=["outcome", "resolved_on", "resolved_by"])
        still_disputed = set(
            Complaint.objects.filter(
                resolved_on__isnull=True, invoices__in=complaint.invoices.all()
            ).values_list("invoices", flat=True)
        )
        for invoice in complaint.invoices.select_for_update():
            if invoice.status != InvoiceStatus.DISPUTED or invoice.pk in still_disputed:
                continue
            cancel = outcome == ComplaintOutcome.UPHELD and cancel_invoices
            set_invoice_status(
                invoice=invoice, status=InvoiceStatus.CANCELLED if cancel else InvoiceStatus.OPEN, actor=user
            )
        announce_change(customer_ids={complaint.customer_id}, facts={"complaints"}, earliest_day=today)
    return complaint


def create_task(
    *,
    customer: Customer,
    kind: str,
    reason: str,
    due_on: date,
    actor: Actor,
    assigned_to: Person | None = None,
    dedupe_key: str | None = None,
) -> Task:
    """Create a task; with a `dedupe_key` a repeated call returns the first task instead of a twin."""
    task = NewTask(
        customer=customer,
        kind=kind,
        reason=reason,
        due_on=due_on,
        assigned_to=assigned_to,
        dedupe_key=dedupe_key,
    )
    return create_tasks(tasks=[task], actor=actor)[0]


@dataclass(frozen=True)
class NewTask:
    """A task to create (`create_tasks`); without `assigned_to` it goes to the customer's collector."""

    customer: Customer
    kind: str
    reason: str
    due_on: date
    assigned_to: Person | None = None
    dedupe_key: str | None = None


def create_tasks(*, tasks: Sequence[NewTask], actor: Actor) -> list[Task]:
    """Create these tasks, in their order; one with a `dedupe_key` already used (before, by a
    concurrent writer, or earlier in the list) is the first task of that key, not a twin.

    Set-based, for the daily run's tasks about broken agreements: one insert per kind of task (keyed
    or not), one read of the keyed ones and one announcement for all, where a task at a time cost a
    savepoint and a refresh of the customer's worklist standing each.
    """
    require(actor, Capability.LOG_CALLS)
    keys = {task.dedupe_key for task in tasks if task.dedupe_key}
    found = Task.objects.in_bulk(keys, field_name="dedupe_key") if keys else {}
    rows: list[Task] = []
    for spec in tasks:
        if spec.dedupe_key and spec.dedupe_key in found:
            rows.append(found[spec.dedupe_key])
            continue
        # Any: a Person (AbstractBaseUser) is not the user model the foreign key names, to mypy.
        assignee: Any = spec.assigned_to or spec.customer.collector
        row = Task(
            customer=spec.customer,
            kind=spec.kind,
            reason=spec.reason[:300],
            due_on=spec.due_on,
            assigned_to=assignee,
            dedupe_key=spec.dedupe_key,
        )
        rows.append(row)
        if spec.dedupe_key:
            found[spec.dedupe_key] = row  # a second spec of the key gets this one
    new = list({id(row): row for row in rows if row.pk is None}.values())  # unsaved rows are unhashable
    if not new:
        return rows
    with transaction.atomic():
        keyed = [row for row in new if row.dedupe_key]
        Task.objects.bulk_create([row for row in new if not row.dedupe_key])
        if keyed:
            # A concurrent writer of the same key wins quietly; every keyed row is then read back.
            Task.objects.bulk_create(keyed, ignore_conflicts=True)
            stored = Task.objects.in_bulk([row.dedupe_key for row in keyed], field_name="dedupe_key")
            rows = [stored.get(row.dedupe_key, row) if row.dedupe_key else row for row in rows]
        announce_change(customer_ids={row.customer_id for row in new}, facts={"tasks"})
    return rows


def complete_task(*, task: Task, actor: Actor, status: str = TaskStatus.DONE) -> Task:
    require(actor, Capability.LOG_CALLS)
    task.status = status
    task.done_at = timezone.now()
    with transaction.atomic():
        task.save(update_fields=["status", "done_at"])
        announce_change(customer_ids={task.customer_id}, facts={"tasks"})
    return task


def complete_tasks_handled_by_call(*, customer: Customer, today: date) -> int:
    """A logged call handles the customer's open call and follow-up tasks due by today.

    Announces nothing itself: its caller (log_call) announces the call and its tasks together.
    """
    return Task.objects.filter(
        customer=customer,
        status=TaskStatus.OPEN,
        due_on__lte=today,
        kind__in=(TaskKind.CALL, TaskKind.FOLLOW_UP_PROMISE, TaskKind.BROKEN_AGREEMENT),
    ).update(status=TaskStatus.DONE, done_at=timezone.now())


# --- Answers a customer gives themselves (portal/), beside what a collector logs ----------------

MAX_PLAN_INSTALMENTS = 6


def _business_days_after(day: date, count: int) -> date:
    """The day `count` business days (Monday to Friday) after `day`."""
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def attach_to_complaint(
    *, complaint: Complaint, name: str, content: bytes, content_type: str, actor: Actor
) -> ComplaintAttachment:
    """Store a document with a complaint, in the private storage (checked for type and size by the caller's
    form: calls.forms is not where uploads are read, portal.forms is)."""
    from django.core.files.base import ContentFile

    require(actor, Capability.LOG_CALLS)
    attachment = ComplaintAttachment(
        complaint=complaint, original_name=name[:200], content_type=content_type, size=len(content)
    )
    attachment.file.save(name, ContentFile(content), save=False)
    attachment.save()
    return attachment


def claim_payment(
    *,
    customer: Customer,
    invoices: Sequence[Invoice],
    paid_on: date,
    amount: Decimal,
    reference: str,
    actor: Actor,
    today: date,
    interaction: Interaction | None = None,
    pause_business_days: int = 5,
) -> PaymentClaim:
    """The customer says they already paid: a task for the collector to find the payment, and the
    reminders of those invoices paused for `pause_business_days` business days. Reporting the same
    payment (day, reference) again returns the first claim."""
    require(actor, Capability.LOG_CALLS)
    errors: dict[str, list[str]] = {}
    if not invoices:
        errors.setdefault("invoices", []).append("Choose the invoices the payment was for.")
    if any(invoice.customer_id != customer.pk for invoice in invoices):
        errors.setdefault("invoices", []).append("Every invoice must belong to this customer.")
    currencies = {invoice.currency for invoice in invoices}
    if len(currencies) > 1:
        errors.setdefault("invoices", []).append("Report one payment per currency.")
    if paid_on > today:
        errors.setdefault("paid_on", []).append("The payment date cannot be in the future.")
    if amount is None or amount <= 0:
        errors.setdefault("amount", []).append("Must be a positive amount.")
    if not reference.strip():
        errors.setdefault("reference", []).append("Give the payment's reference.")
    if errors:
        raise ValidationError(errors)
    existing = PaymentClaim.objects.filter(customer=customer, paid_on=paid_on, reference=reference).first()
    if existing:
        return existing
    currency = currencies.pop()
    numbers = ", ".join(invoice.number for invoice in invoices)
    with transaction.atomic():
        task = create_task(
            customer=customer,
            kind=TaskKind.PORTAL_ANSWER,
            reason=f"Portal: already paid {currency} {amount} on {paid_on:%d %b} ({reference}) for {numbers}",
            due_on=today,
            actor=actor,
        )
        claim = PaymentClaim(
            customer=customer, interaction=interaction, paid_on=paid_on, amount=amount, currency=currency,
            reference=reference, pause_until=_business_days_after(today, pause_business_days), task=task,
            created_on=today,
        )  # fmt: skip
        claim.full_clean(validate_constraints=False)
        claim.save()
        claim.invoices.set(invoices)
        announce_change(customer_ids={customer.pk}, facts={"tasks"})
    return claim


def propose_plan(
    *,
    customer: Customer,
    invoices: Sequence[Invoice],
    instalments: Sequence[InstalmentTerms],
    actor: Actor,
    today: date,
    interaction: Interaction | None = None,
) -> PlanProposal:
    """A plan the customer proposes, waiting for a credit manager (decide_plan_proposal)."""
    from agreements.services import validate_terms

    require(actor, Capability.LOG_CALLS)
    if len(instalments) > MAX_PLAN_INSTALMENTS:
        raise ValidationError({"instalments": f"A plan has at most {MAX_PLAN_INSTALMENTS} instalments."})
    currency = validate_terms(
        customer=customer, kind=AgreementKind.PLAN, instalments=instalments, invoices=invoices, made_on=today
    )
    if PlanProposal.objects.filter(customer=customer, state=PlanProposalState.PENDING).exists():
        raise ValidationError({"instalments": "A proposed plan is already waiting for a decision."})
    with transaction.atomic():
        proposal = PlanProposal.objects.create(
            customer=customer, interaction=interaction, currency=currency, proposed_on=today,
            instalments=[{"due_date": t.due_date.isoformat(), "amount": str(t.amount)} for t in instalments],
        )  # fmt: skip
        proposal.invoices.set(invoices)
    return proposal


def plan_terms(proposal: PlanProposal) -> list[InstalmentTerms]:
    return [
        InstalmentTerms(date.fromisoformat(row["due_date"]), Decimal(row["amount"]))
        for row in proposal.instalments
    ]


def decide_plan_proposal(
    *, proposal: PlanProposal, accept: bool, user: Actor, today: date, reason: str = ""
) -> PlanProposal:
    """Accept a proposed plan (it becomes an active plan Agreement, made in the portal's interaction) or
    decline it with a reason the customer reads on their page. A credit manager's decision."""
    require(user, Capability.DECIDE_CREDIT_CONTROL)
    if proposal.state != PlanProposalState.PENDING:
        raise ValidationError({"state": "This proposal was already decided."})
    if not accept and not reason.strip():
        raise ValidationError({"reason": "Say why, in words the customer will read."})
    with transaction.atomic():
        if accept:
            proposal.agreement = create_agreement(
                customer=proposal.customer, kind=AgreementKind.PLAN, instalments=plan_terms(proposal),
                invoices=proposal.invoices.all(), made_on=today, made_by=user,
                notes="Proposed by the customer via the portal",
            )  # fmt: skip
            if proposal.interaction_id:
                Interaction.objects.filter(pk=proposal.interaction_id, agreement__isnull=True).update(
                    agreement=proposal.agreement
                )
        proposal.state = PlanProposalState.ACCEPTED if accept else PlanProposalState.DECLINED
        proposal.decline_reason = "" if accept else reason.strip()
        proposal.decided_on = today
        proposal.decided_by = acting_user(user)
        proposal.save(update_fields=["state", "decline_reason", "decided_on", "decided_by", "agreement"])
        # Decided today (an accepted plan's agreement announces its own day when it is made).
        announce_change(customer_ids={proposal.customer_id}, facts={"agreements"}, earliest_day=today)
    return proposal
