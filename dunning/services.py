"""Writes of the dunning run: reminders created once, agreements settled, proposals made and decided.

`run_dunning_batch` is the unit of work: the Celery task, the management command and the benchmark
all call it for a batch of customers, in one transaction, with a constant number of queries.
Re-running it for the same day (a retry, a redelivered task, a second worker) creates nothing new:
the unique (customer, step, run_on) constraint refuses the twin reminder, and only the run that
inserted a reminder writes its invoice lines.
"""

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from agreements.models import Agreement, Instalment
from agreements.services import check_agreements
from calls.choices import TaskKind
from calls.models import Task
from calls.services import NewTask, create_tasks
from customers.access import SYSTEM, Actor, Capability, acting_user, require
from customers.models import Contact, Customer
from customers.services import set_credit_hold, set_prepayment_only
from customers.signals import announce_change

from . import selectors
from .choices import DeliveryStatus, ProposalKind, ProposalState
from .defaults import STANDARD_POLICY_NAME, STANDARD_STEPS
from .engine import InvoiceFacts, due_reminders, step_due_for
from .models import Policy, Proposal, Reminder, ReminderInvoice, Step
from .ranking import Stake
from .rendering import InvoiceLine, reminder_context, render_text

BROKEN_AGREEMENTS_FOR_PREPAYMENT = 2
REQUIRE_BOTH_SIGNALS = True  # see propose_prepayment: either signal alone proposed a quarter of a ledger
PROPOSAL_QUIET_DAYS = 180  # a dismissed proposal is not made again for this long


@dataclass
class PlannedReminder:
    """A reminder the run decided on, and whether this run created it (False: it already existed)."""

    customer: Customer
    step: Step
    lines: list[InvoiceLine]
    subject: str
    body: str
    created: bool = False
    reminder_id: int | None = None


@dataclass
class BatchResult:
    reminders: list[PlannedReminder] = field(default_factory=list)
    broken: list[tuple[Agreement, Instalment]] = field(default_factory=list)
    kept: list[Agreement] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)

    @property
    def created_reminder_ids(self) -> list[int]:
        return [planned.reminder_id for planned in self.reminders if planned.created]

    def merge(self, other: "BatchResult") -> None:
        self.reminders += other.reminders
        self.broken += other.broken
        self.kept += other.kept
        self.proposals += other.proposals


def customer_batches(
    size: int | None = None, *, today: date | None = None, book: selectors.PolicyBook | None = None
) -> Iterator[list[int]]:
    """Customer ids in batches of `size` (setting DUNNING_BATCH_SIZE), in id order.

    With `today`: only the customers the day's run has something to do for (`customers_to_run`).
    Without: every customer, streamed (the ids of a large ledger are never all in memory at once).
    """
    size = size or settings.DUNNING_BATCH_SIZE
    ids: Iterable[int]
    if today is not None:
        ids = customers_to_run(today=today, book=book or selectors.policy_book())
    else:
        ids = Customer.objects.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=5000)
    batch: list[int] = []
    for pk in ids:
        batch.append(pk)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def customers_to_run(*, today: date, book: selectors.PolicyBook) -> list[int]:
    """The customers with a step due today or an active agreement to settle, in id order.

    Why: the run used to hand every customer to a batch, and each batch loaded every open invoice
    and reminder line of its 500 customers to find the few with a step due; on 50,000 customers most
    of the run's time went there, and a same-day repeat paid it all again to create nothing. One SQL
    statement now finds them for the whole ledger (never fewer than the engine would remind, see
    `selectors.customers_with_a_step_due`); the batches then decide and write for those alone.
    Ids only: 50,000 ints are a few megabytes.
    """
    due = selectors.customers_with_a_step_due(book, today=today)
    settling = selectors.customers_with_an_agreement_to_settle(today)
    return sorted(set(due) | set(settling))


def run_dunning_batch(
    *,
    customer_ids: Sequence[int],
    today: date,
    book: selectors.PolicyBook | None = None,
    propose: bool = True,
) -> BatchResult:
    """One day's dunning for a batch of customers, all or nothing.

    In order: settle active agreements (a broken one gets a task for the collector and lets the chase
    resume today), create the reminders the engine finds due, and propose for prepayment only the
    customers who earned it. Deliveries are not made here: the caller queues the created reminders.
    """
    book = book or selectors.policy_book()
    result = BatchResult()
    with transaction.atomic():
        agreements = check_agreements(today=today, customer_ids=customer_ids)
        result.broken, result.kept = agreements.broken, agreements.kept
        _tasks_for_broken_agreements(agreements.broken, today=today)
        result.reminders = plan_reminders(customer_ids=customer_ids, today=today, book=book)
        create_reminders(result.reminders, today=today)
        if propose:
            result.proposals = propose_prepayment(customer_ids=customer_ids, today=today)
    return result


def plan_reminders(
    *, customer_ids: Sequence[int], today: date, book: selectors.PolicyBook
) -> list[PlannedReminder]:
    """Ask the engine, customer by customer, which reminders are due; render their words."""
    invoices_by_customer: dict[int, list] = {}
    for invoice in selectors.invoices_to_consider(customer_ids, book=book, today=today):
        invoices_by_customer.setdefault(invoice.customer_id, []).append(invoice)
    if not invoices_by_customer:
        return []
    reminded = selectors.offsets_reminded(
        [invoice.pk for invoices in invoices_by_customer.values() for invoice in invoices]
    )
    customers_owing = _customers_with_a_step_due(invoices_by_customer, reminded, book, today)
    if not customers_owing:
        return []  # a same-day repeat ends here: every step due was sent
    disputed = selectors.invoices_under_open_complaint(customers_owing)
    covered = selectors.invoices_under_active_agreement(customers_owing)
    claimed = selectors.invoices_under_payment_claim(customers_owing, today=today)
    customers = selectors.customers_in_batch(customers_owing)
    contacts = selectors.primary_contacts(customers_owing)
    planned = []
    for customer_id in customers_owing:
        invoices = invoices_by_customer[customer_id]
        customer = customers[customer_id]
        rules = book.rules_for(customer.segment_id)
        if rules is None:
            continue
        facts = [
            InvoiceFacts(
                invoice_id=invoice.pk,
                due_date=invoice.due_date,
                status=invoice.status,
                open_amount=invoice.open_amount,
                under_open_complaint=invoice.pk in disputed,
                covered_by_active_agreement=invoice.pk in covered,
                under_payment_claim=invoice.pk in claimed,
                sent_offsets=reminded.get(invoice.pk, frozenset()),
            )
            for invoice in invoices
        ]
        by_id = {invoice.pk: invoice for invoice in invoices}
        for due in due_reminders(
            policy=rules, invoices=facts, today=today, paused_until=customer.dunning_paused_until
        ):
            lines = [_invoice_line(by_id[invoice_id], today) for invoice_id in due.invoice_ids]
            planned.append(
                compose(
                    customer,
                    contact=contacts.get(customer_id),
                    step=book.steps[due.step_id],
                    lines=lines,
                    today=today,
                )
            )
    return planned


def _customers_with_a_step_due(
    invoices_by_customer: dict[int, list], reminded: dict[int, frozenset[int]], book, today: date
) -> list[int]:
    """The customers with an invoice whose current step was not sent yet, pauses and exclusions aside.

    A cheap first pass over facts already loaded: only these customers need their complaints,
    agreements, contacts and rows read, and the engine's full decision. Most of a batch has nothing
    due on a given day, and on a same-day repeat none has.
    """
    owing = []
    segments = selectors.segments_of(list(invoices_by_customer))
    for customer_id, invoices in invoices_by_customer.items():
        rules = book.rules_for(segments[customer_id])
        if rules is None:
            continue
        steps = sorted(rules.steps, key=lambda step: step.offset_days)
        if any(
            step_due_for(
                InvoiceFacts(
                    invoice_id=invoice.pk,
                    due_date=invoice.due_date,
                    status=invoice.status,
                    open_amount=invoice.open_amount,
                    sent_offsets=reminded.get(invoice.pk, frozenset()),
                ),
                steps,
                today,
            )
            for invoice in invoices
        ):
            owing.append(customer_id)
    return owing


def _invoice_line(invoice, today: date) -> InvoiceLine:
    return InvoiceLine(
        invoice_id=invoice.pk,
        number=invoice.number,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        currency=invoice.currency,
        amount=invoice.amount,
        open_amount=invoice.open_amount,
        days_overdue=(today - invoice.due_date).days,
    )


def compose(
    customer: Customer, *, contact: Contact | None, step: Step, lines: list[InvoiceLine], today: date
) -> PlannedReminder:
    context = reminder_context(
        customer=customer,
        contact=contact,
        lines=lines,
        step=step,
        run_on=today,
        sender=settings.DUNNING_SENDER,
    )
    subject = " ".join(render_text(step.subject_template, context).split())[:200]
    body = render_text(step.body_template, context)
    return PlannedReminder(customer=customer, step=step, lines=lines, subject=subject, body=body)


def create_reminders(planned: list[PlannedReminder], *, today: date) -> None:
    """Insert the reminders, skipping any that exist; write lines only for the rows this run inserted.

    The run id marks this run's rows: a concurrent run's insert of the same reminder waits on ours
    and then does nothing, so each reminder's lines are written exactly once. Three queries, plus
    what the receivers of `customer_facts_changed` do for the customers that got a reminder.
    """
    if not planned:
        return
    run_id = uuid.uuid4()
    Reminder.objects.bulk_create(
        [
            Reminder(
                customer=item.customer,
                step=item.step,
                run_on=today,
                channel=item.step.channel,
                tone=item.step.tone,
                subject=item.subject,
                body=item.body,
                created_by_run=run_id,
            )
            for item in planned
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    created = Reminder.objects.filter(
        customer_id__in={item.customer.pk for item in planned}, run_on=today, created_by_run=run_id
    ).values_list("pk", "customer_id", "step_id")
    created_ids = {(customer_id, step_id): pk for pk, customer_id, step_id in created}
    lines = []
    for item in planned:
        item.reminder_id = created_ids.get((item.customer.pk, item.step.pk))
        item.created = item.reminder_id is not None
        if item.created:
            lines += [
                ReminderInvoice(
                    reminder_id=item.reminder_id, invoice_id=line.invoice_id, open_amount=line.open_amount
                )
                for line in item.lines
            ]
    ReminderInvoice.objects.bulk_create(lines, batch_size=2000)
    # A reminder counts against the customer's worth-it score: the reports app refreshes it now.
    announce_change(
        customer_ids={customer_id for customer_id, _ in created_ids}, facts={"reminders"}, earliest_day=today
    )


def _tasks_for_broken_agreements(broken: list[tuple[Agreement, Instalment]], *, today: date) -> list[Task]:
    """The collector calls about each broken agreement; one task per agreement, however often the run
    repeats. All of the batch's in one `create_tasks` (one insert, one refresh of the worklist)."""
    return create_tasks(
        tasks=[
            NewTask(
                customer=agreement.customer,
                kind=TaskKind.BROKEN_AGREEMENT,
                reason=(
                    f"{agreement.get_kind_display()} broken: instalment #{instalment.sequence} of "
                    f"{instalment.amount} {agreement.currency} due {instalment.due_date:%d %b %Y} "
                    "was not paid."
                ),
                due_on=today,
                dedupe_key=f"agreement-broken:{agreement.pk}",
            )
            for agreement, instalment in broken
        ],
        actor=SYSTEM,
    )


def propose_prepayment(*, customer_ids: Sequence[int], today: date) -> list[Proposal]:
    """ "Once bitten, twice shy": propose prepayment only for customers who broke two agreements in
    twelve months AND whose average lateness passes their segment's threshold; and bring the
    figures of the batch's open proposals up to today, so the queue ranks on what is at stake now.

    Both signals, not either (the rule until 2026-11): measured on the 20,000-customer demo ledger
    for 2026-11-24, average lateness past the threshold alone catches 4,412 customers (22%), two
    broken agreements alone 2,304 (11.5%), either 4,703 (23.5%): a queue nobody can work, and
    mostly late payers who keep their word, whom reminders and calls already handle. Both together
    catch 2,013 (10%): customers for whom neither chasing nor agreements work, the case prepayment
    only is for. Even so the queue is long, so proposals carry their stake (dunning.ranking) and
    the page lists the most pressing first. REQUIRE_BOTH_SIGNALS = False restores the old rule.

    Not proposed again while a proposal is open, nor for PROPOSAL_QUIET_DAYS after a dismissal;
    customers already on prepayment only are left alone. A repeat run for the same day writes
    nothing. A fixed number of queries per batch.
    """
    broken = selectors.customers_with_broken_agreements(customer_ids, today=today, at_least=1)
    lateness = selectors.average_lateness(customer_ids, today=today)
    open_now = selectors.open_proposals_of(customer_ids)
    worth_a_look = {pk for pk, count in broken.items() if count >= BROKEN_AGREEMENTS_FOR_PREPAYMENT}
    if not REQUIRE_BOTH_SIGNALS:
        worth_a_look |= set(lateness)
    worth_a_look |= {proposal.customer_id for proposal in open_now}
    if not worth_a_look:
        return []
    customers = list(Customer.objects.filter(pk__in=worth_a_look).select_related("segment"))
    stakes = selectors.stakes_for(customers, today=today, broken=broken, lateness=lateness)
    _refresh_open_proposals(open_now, stakes, today=today)
    quiet = selectors.recently_decided_proposals(
        list(worth_a_look),
        kind=ProposalKind.PREPAYMENT_ONLY,
        since=today - timedelta(days=PROPOSAL_QUIET_DAYS),
    )
    proposals = []
    for customer in customers:
        if customer.prepayment_only or customer.pk in quiet:
            continue
        stake = stakes[customer.pk]
        reason = prepayment_reason(stake)
        if reason:
            proposal = Proposal(
                customer=customer, kind=ProposalKind.PREPAYMENT_ONLY, reason=reason, proposed_on=today
            )
            proposals.append(_with_stake(proposal, stake, today=today))
    Proposal.objects.bulk_create(proposals, ignore_conflicts=True)
    return proposals


def prepayment_candidates_of_day(*, today: date) -> list[int]:
    """The customers the day's prepayment proposals must look at, in id order (one statement or two).

    Only customers who broke enough agreements and may be proposed at all (not on prepayment only,
    no proposal open or lately dismissed: `selectors.prepayment_candidates`) can qualify, plus those
    with an open proposal whose figures are not of today yet, brought up to date; the year's
    lateness, the costly aggregate, is then read for those few customers only, chunk by chunk, so
    neither the query nor a worker's memory grows with the ledger. A same-day repeat finds almost no
    one: the day's proposals are open and their figures are of today (on 50,000 customers the repeat
    used to read the lateness of every proposed customer again, 5.8 s, to write nothing). With
    REQUIRE_BOTH_SIGNALS off, every customer with a lateness is a candidate instead.
    """
    candidates = selectors.prepayment_candidates(
        today=today,
        at_least=BROKEN_AGREEMENTS_FOR_PREPAYMENT,
        kind=ProposalKind.PREPAYMENT_ONLY,
        quiet_since=today - timedelta(days=PROPOSAL_QUIET_DAYS),
    )
    candidates |= selectors.customers_with_open_proposals(ProposalKind.PREPAYMENT_ONLY, figures_before=today)
    if not REQUIRE_BOTH_SIGNALS:
        candidates |= set(selectors.average_lateness(None, today=today))
    return sorted(candidates)


def proposal_chunks(*, today: date) -> list[list[int]]:
    """The day's candidates (`prepayment_candidates_of_day`) in chunks of DUNNING_PROPOSAL_CHUNK."""
    ordered, size = prepayment_candidates_of_day(today=today), settings.DUNNING_PROPOSAL_CHUNK
    return [ordered[start : start + size] for start in range(0, len(ordered), size)]


def propose_prepayment_chunk(*, customer_ids: Sequence[int], today: date) -> int:
    """One chunk of the day's proposals, all or nothing; how many were made."""
    with transaction.atomic():
        return len(propose_prepayment(customer_ids=customer_ids, today=today))


def propose_prepayment_in_turn(chunks: list[list[int]], *, today: date) -> int:
    """These chunks of candidates proposed one after the other; how many were made."""
    return sum(propose_prepayment_chunk(customer_ids=chunk, today=today) for chunk in chunks)


def propose_prepayment_everywhere(*, today: date) -> int:
    """The prepayment proposals of one day's run, over every customer, one chunk after the other;
    how many were made. Run once, after every batch has settled today's agreements (so a break made
    by the run counts). The Celery run makes the same chunks side by side (dunning.tasks)."""
    return propose_prepayment_in_turn(proposal_chunks(today=today), today=today)


def prepayment_reason(stake: Stake) -> str:
    threshold = stake.lateness_threshold_days
    broke = stake.broken_agreements >= BROKEN_AGREEMENTS_FOR_PREPAYMENT
    late = stake.pays_late
    if not ((broke and late) if REQUIRE_BOTH_SIGNALS else (broke or late)):
        return ""
    reasons = []
    if broke:
        reasons.append(f"broke {stake.broken_agreements} agreements in the last twelve months")
    if late:
        reasons.append(
            f"pays {stake.average_days_late:.0f} days late on average (segment threshold {threshold})"
        )
    return "Once bitten, twice shy: " + " and ".join(reasons) + "."


STAKE_FIELDS = (
    "currency",
    "open_amount",
    "overdue_amount",
    "oldest_due_date",
    "broken_agreements",
    "average_days_late",
)


def _with_stake(proposal: Proposal, stake: Stake, *, today: date) -> Proposal:
    for name in STAKE_FIELDS:
        setattr(proposal, name, getattr(stake, name))
    proposal.stake = stake.points(today)
    proposal.figures_on = today
    return proposal


def _refresh_open_proposals(proposals: list[Proposal], stakes: dict[int, Stake], *, today: date) -> None:
    """Bring open proposals' figures and stake up to today (only those that changed: a repeat run
    of the day writes nothing). Those whose figures did not move are still marked as of today, in one
    UPDATE, so that a same-day repeat of the run knows it need not read them again."""
    changed, confirmed = [], []
    for proposal in proposals:
        if proposal.customer_id not in stakes:
            continue
        before = [getattr(proposal, name) for name in (*STAKE_FIELDS, "stake")]
        figures_on = proposal.figures_on
        _with_stake(proposal, stakes[proposal.customer_id], today=today)
        if before != [getattr(proposal, name) for name in (*STAKE_FIELDS, "stake")]:
            changed.append(proposal)
        elif figures_on != today:
            confirmed.append(proposal.pk)
    Proposal.objects.bulk_update(changed, [*STAKE_FIELDS, "stake", "figures_on"])
    if confirmed:
        Proposal.objects.filter(pk__in=confirmed).update(figures_on=today)


def propose_credit_hold(*, customer: Customer, reason: str, today: date) -> Proposal | None:
    """Propose a credit hold (the final step's action), with what is at stake; nothing if one is
    open or the customer is already on hold."""
    if customer.credit_hold:
        return None
    stake = selectors.stakes_for([customer], today=today)[customer.pk]
    proposal = Proposal(
        customer=customer, kind=ProposalKind.CREDIT_HOLD, reason=reason[:300], proposed_on=today
    )
    try:
        with transaction.atomic():
            _with_stake(proposal, stake, today=today).save()
            return proposal
    except IntegrityError:
        return None  # an open proposal already waits for a decision


def decide_proposal(*, proposal: Proposal, confirm: bool, user: Actor, today: date) -> Proposal:
    """A credit manager confirms (the customer goes on prepayment only / credit hold) or dismisses."""
    require(user, Capability.DECIDE_CREDIT_CONTROL)
    with transaction.atomic():
        locked = Proposal.objects.select_for_update().select_related("customer").get(pk=proposal.pk)
        if locked.state != ProposalState.PROPOSED:
            raise ValidationError(
                {"state": f"This proposal was already {locked.get_state_display().lower()}."}
            )
        locked.state = ProposalState.CONFIRMED if confirm else ProposalState.DISMISSED
        locked.decided_by = acting_user(user)
        locked.decided_on = today
        locked.save(update_fields=["state", "decided_by", "decided_on"])
        if confirm and locked.kind == ProposalKind.PREPAYMENT_ONLY:
            set_prepayment_only(customer=locked.customer, prepayment_only=True, actor=user)
        elif confirm and locked.kind == ProposalKind.CREDIT_HOLD:
            set_credit_hold(customer=locked.customer, on_hold=True, actor=user)
        return locked


def release_stale_claims(*, now: datetime | None = None) -> int:
    """Put back to pending the claims ("sending") a dead worker left behind; returns how many.

    A claim older than DUNNING_SENDING_TIMEOUT seconds is released; the delivery it guarded may have
    happened just before the worker died, which is the one case where a message can go out twice
    (SMTP cannot be asked whether it got one).
    """
    stale = (now or timezone.now()) - timedelta(seconds=settings.DUNNING_SENDING_TIMEOUT)
    return Reminder.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=stale).update(
        status=DeliveryStatus.PENDING, claimed_at=None
    )


def retry_failed_reminder(*, reminder: Reminder, actor: Actor) -> bool:
    """Deliver a failed reminder again, now (a credit manager's action). False, and nothing done,
    when it is not failed (any more); DeliveryFailed when it fails again."""
    from .delivery import deliver  # delivery imports calls' services, as this module does; kept lazy

    require(actor, Capability.MANAGE_SETTINGS)
    claimed = Reminder.objects.filter(pk=reminder.pk, status=DeliveryStatus.FAILED)
    if not claimed.update(status=DeliveryStatus.PENDING):
        return False
    deliver(reminder.pk, final_attempt=True)
    return True


def ensure_standard_policy() -> Policy:
    """The default policy as the data migration creates it (for a database flushed since)."""
    policy = Policy.objects.filter(is_default=True).first()
    if policy:
        return policy
    policy, _ = Policy.objects.get_or_create(name=STANDARD_POLICY_NAME, defaults={"is_default": True})
    for spec in STANDARD_STEPS:
        Step.objects.get_or_create(policy=policy, offset_days=spec["offset_days"], defaults=spec)  # type: ignore[misc]  # a dict of mixed values
    return policy
