"""One demo account, generated whole from its own seeded RNG: the customer, its contacts, 18 months of
invoices and how they were paid, and everything a collector did and heard along the way.

Each account draws from `random.Random(f"...:{seed}:{index}")`, so an account's data depends only on
the seed, its index and `today`: the same run gives the same ledger however it is chunked.
Amounts are kept in integer cents while generating (exact, fast) and become Decimal on the way out.
The result is rows as plain tuples per table (`records` says why not model instances), with ids
taken from `World.ids`, for `creditdesk.demo.writer` to COPY in.
"""

import random
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from math import log

from agreements import models as agreement_models
from agreements.choices import AgreementKind, AgreementState, InstalmentState
from calls import models as call_models
from calls.choices import (
    ComplaintCategory,
    ComplaintOutcome,
    Direction,
    ExcuseCategory,
    InteractionChannel,
    Outcome,
    TaskKind,
    TaskStatus,
)
from customers import models as customer_models
from customers.models import Segment
from dunning.choices import DeliveryStatus
from dunning.models import Reminder, ReminderInvoice, Step
from dunning.rendering import InvoiceLine
from dunning.services import compose
from invoices.choices import InvoiceStatus
from invoices.models import Allocation, Invoice, Payment

from . import names
from .kinds import BEHAVIOURS, Kind, kind_of
from .profiles import SEGMENTS, SegmentProfile
from .records import Ids, Record, columns, record_type

# The rows an account's history shapes step by step, as Records: the models' fields and defaults,
# without a model instance's cost. Invoices, payments, allocations and reminders go straight to tuples.
Customer = record_type(customer_models.Customer)
Contact = record_type(customer_models.Contact)
Agreement = record_type(agreement_models.Agreement)
Instalment = record_type(agreement_models.Instalment)
Interaction = record_type(call_models.Interaction)
Excuse = record_type(call_models.Excuse)
Complaint = record_type(call_models.Complaint)
Task = record_type(call_models.Task)
AgreementInvoice = agreement_models.Agreement.invoices.through
ExcuseInvoice = call_models.Excuse.invoices.through
ComplaintInvoice = call_models.Complaint.invoices.through
# The columns of the tuples emit() builds itself, in order (the writer COPYs them by these names).
INVOICE_COLUMNS = (
    "id",
    "number",
    "customer_id",
    "issue_date",
    "due_date",
    "amount",
    "currency",
    "allocated_amount",
    "status",
    "description",
    "created_at",
    "updated_at",
)
PAYMENT_COLUMNS = (
    "id",
    "customer_id",
    "reference",
    "received_on",
    "amount",
    "currency",
    "allocated_amount",
    "created_at",
)
ALLOCATION_COLUMNS = ("payment_id", "invoice_id", "amount")
REMINDER_COLUMNS = (
    "id",
    "customer_id",
    "step_id",
    "run_on",
    "channel",
    "tone",
    "subject",
    "body",
    "status",
    "attempts",
    "last_error",
    "sent_at",
    "letter_pdf",
    "created_at",
)
REMINDER_LINE_COLUMNS = ("reminder_id", "invoice_id", "open_amount")
LINK_COLUMNS = {
    AgreementInvoice: ("agreement_id", "invoice_id"),
    ExcuseInvoice: ("excuse_id", "invoice_id"),
    ComplaintInvoice: ("complaint_id", "invoice_id"),
}
# Every table a seed writes, parents first, with the columns of its tuples. Rows with an id of their
# own take it from World.ids; allocations, reminder lines and links get theirs from the database.
TABLES = (
    *((record.model, columns(record.model)) for record in (Customer, Contact)),
    (Invoice, INVOICE_COLUMNS),
    (Payment, PAYMENT_COLUMNS),
    (Allocation, ALLOCATION_COLUMNS),
    *((record.model, columns(record.model)) for record in (Agreement, Instalment, Interaction, Excuse)),
    *((record.model, columns(record.model)) for record in (Complaint, Task)),
    (Reminder, REMINDER_COLUMNS),
    (ReminderInvoice, REMINDER_LINE_COLUMNS),
    *LINK_COLUMNS.items(),
)

HISTORY_DAYS = 548  # 18 months of invoices before `today`
GRACE_DAYS = 3  # Agreement.grace_days default: days after an instalment before it counts as missed
THURSDAY = 3
WORDED_DAYS = 90  # historical reminders this recent get their full rendered subject and body
SENT_AT = time(7, 0)  # historical reminders went out at 7:00 on their day


@dataclass
class World:
    """What every account of one run shares: the date, the seed, segments, users and dunning steps."""

    seed: int
    today: date
    tz: object
    segments: dict[str, Segment]
    collectors: list
    manager: object
    # Dunning steps per segment name, with None for the default policy; empty when there is no policy.
    steps: dict[str | None, list[Step]] = field(default_factory=dict)
    business_days_only: dict[str | None, bool] = field(default_factory=dict)
    # The next id of every table written (the writer reserves them), and the rows' created_at.
    ids: Ids = field(default_factory=lambda: Ids({}))
    created_at: datetime | None = None


@dataclass
class Rows:
    """Rows for a chunk of accounts: per table, tuples of the columns `table_columns` gives."""

    tables: dict[type, list[tuple]] = field(default_factory=dict)
    accounts: list[str] = field(default_factory=list)  # "name (account number)", one per account

    def add(self, table: type, rows) -> None:
        self.tables.setdefault(table, []).extend(rows)


class Bill:
    """An invoice while it is being generated: its dates, cents, and the parts paid (date, cents, run)."""

    __slots__ = (
        "number",
        "issue",
        "due",
        "cents",
        "parts",
        "status",
        "busy",
        "paused",
        "closed_on",
        "invoice_id",
    )

    def __init__(self, number: str, issue: date, due: date, cents: int):
        self.number, self.issue, self.due, self.cents = number, issue, due, cents
        self.parts: list[tuple[date, int, str]] = []
        self.status = InvoiceStatus.OPEN
        self.busy = False  # covered by a complaint or an agreement already
        self.paused: list[tuple[date, date]] = []  # [start, end) when reminders stop (complaint, agreement)
        self.closed_on: date | None = None  # cancelled on this day
        self.invoice_id: int | None = None

    def last_payment(self) -> date | None:
        return max((part[0] for part in self.parts), default=None)

    def paid_by(self, day: date) -> int:
        return sum(cents for paid_on, cents, _ in self.parts if paid_on <= day)

    def overdue_end(self, today: date) -> date:
        """The first day this bill no longer counts as overdue (today + 1 when it still does)."""
        if self.closed_on:
            return self.closed_on
        if self.status in (InvoiceStatus.DISPUTED, InvoiceStatus.WRITTEN_OFF) or not self.parts:
            return today + timedelta(days=1)
        settled = sum(part[1] for part in self.parts)
        return self.last_payment() if settled >= self.cents else today + timedelta(days=1)


def money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def build_account(world: World, index: int, rows: Rows) -> Kind:
    """Generate the `index`-th demo account into `rows`; returns its kind."""
    account = Account(world, index)
    account.build()
    account.emit(rows)
    return account.kind


class Account:
    """The generator for one account. Methods run in `build()` order; each adds one layer of history."""

    def __init__(self, world: World, index: int):
        self.world, self.today, self.index = world, world.today, index
        self.rng = random.Random(f"creditdesk-demo:{world.seed}:{index}")
        self.kind = kind_of(world.seed, index)
        self.behaviour = BEHAVIOURS[self.kind]
        self.account_number = f"{100001 + index}"
        # How much harder than its kind's average this account is to collect from (a long tail).
        self.difficulty = 1.0 if self.kind == Kind.PUNCTUAL else min(self.rng.lognormvariate(0, 1.0), 8.0)
        self.bills: list[Bill] = []
        self.agreements: list[tuple[Record, list[Bill], list[Record]]] = []  # with instalments
        self.interactions: list[Record] = []
        self.excuses: list[tuple[Record, list[Bill]]] = []
        self.complaints: list[tuple[Record, list[Bill]]] = []
        self.tasks: list[Record] = []
        self.payment_sequence = 0

    # -- the account and its people ---------------------------------------------------------------

    def build(self) -> None:
        self.make_customer()
        self.make_contacts()
        self.make_invoices()
        self.decide_payments()
        self.make_complaints()
        self.make_plans()
        self.make_promises()
        self.write_off_old_debts()
        self.drop_future_payments()
        self.make_chase_history()
        self.set_account_flags()
        self.make_open_tasks()

    def make_customer(self) -> None:
        rng = self.rng
        self.profile: SegmentProfile = weighted(rng, SEGMENTS, [s.share for s in SEGMENTS])
        country = rng.choice(names.EURO_COUNTRIES) if rng.random() < 0.8 else rng.choice(("US", "GB"))
        currency, legal_forms, cities, phone_prefix = names.COUNTRIES[country]
        city = rng.choice(cities)
        name = self.company_name(legal_forms, city)
        self.domain = ascii_mailbox(name.split()[0]) + self.account_number
        self.phone_prefix = phone_prefix
        collector = None
        if rng.random() < 0.95:  # a few new accounts are not yet in anyone's portfolio
            collector = self.world.collectors[self.index % len(self.world.collectors)]
        self.owner = collector or self.world.manager
        self.customer = Customer(
            account_number=self.account_number,
            name=name,
            segment=self.world.segments[self.profile.name],
            currency=currency,
            payment_terms_days=rng.choice(self.profile.payment_terms),
            credit_limit=money(self.profile.credit_limit * 100 * rng.choice((1, 1, 2)) // 2),
            preferred_channel=rng.choice(self.profile.preferred_channels),
            collector=collector,
            email=f"accounts@{self.domain}.example",
            phone=self.phone_number(),
            address_line=f"{rng.choice(names.STREETS)} {rng.randint(1, 250)}",
            postal_code=postal_code(rng, country),
            city=city,
            country=country,
        )
        self.pay_run = rng.random() < self.profile.pay_run

    def company_name(self, legal_forms: tuple[str, ...], city: str) -> str:
        rng = self.rng
        if self.profile.name == "Public sector":
            return rng.choice(names.PUBLIC_BODIES).format(city=city)
        pattern = rng.random()
        if pattern < 0.45:
            base = f"{rng.choice(names.FAMILY_NAMES)} {rng.choice(names.TRADE_WORDS)}"
        elif pattern < 0.8:
            base = f"{rng.choice(names.PREFIXES)} {rng.choice(names.TRADE_WORDS)}"
        else:
            base = f"{rng.choice(names.FAMILY_NAMES)} & {rng.choice(names.FAMILY_NAMES)}"
        return f"{base} {rng.choice(legal_forms)}"

    def phone_number(self) -> str:
        rng = self.rng
        return f"{self.phone_prefix} {rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"

    def make_contacts(self) -> None:
        rng = self.rng
        self.contacts = []
        for position in range(rng.choice((1, 1, 2, 2, 3))):
            given, family = rng.choice(names.GIVEN_NAMES), rng.choice(names.FAMILY_NAMES)
            mailbox = ascii_mailbox(f"{given}.{family}", keep=".")
            # Most details were confirmed this year; some long ago, some never: those need checking.
            freshness = rng.random()
            if freshness < 0.6:
                verified = self.moment(self.today - timedelta(days=rng.randint(1, 180)))
            elif freshness < 0.85:
                verified = self.moment(self.today - timedelta(days=rng.randint(400, 1100)))
            else:
                verified = None
            self.contacts.append(
                Contact(
                    customer=self.customer,
                    name=f"{given} {family}",
                    role=names.CONTACT_ROLES[0] if position == 0 else rng.choice(names.CONTACT_ROLES[1:]),
                    email=f"{mailbox}@{self.domain}.example",
                    phone=self.phone_number(),
                    is_primary=position == 0,
                    verified_at=verified,
                )
            )

    # -- invoices and how they were paid -----------------------------------------------------------

    def make_invoices(self) -> None:
        rng, profile = self.rng, self.profile
        count = round(rng.lognormvariate(log(profile.median_invoices), 0.5))
        count = max(count, 12 if self.kind in (Kind.PROMISE_BREAKER, Kind.DISPUTER) else 4)
        typical = profile.median_amount * rng.lognormvariate(0, 0.5)
        terms = self.customer.payment_terms_days
        issued = sorted(self.today - timedelta(days=rng.randint(1, HISTORY_DAYS)) for _ in range(count))
        for number, issue in enumerate(issued, start=1):
            cents = max(2500, round(typical * rng.lognormvariate(0, 0.6) * 100))
            self.bills.append(
                Bill(f"INV-{self.account_number}-{number:04d}", issue, issue + timedelta(terms), cents)
            )

    def decide_payments(self) -> None:
        """When each invoice would be paid (even after `today`; those parts are dropped later)."""
        rng, behaviour = self.rng, self.behaviour
        drift = rng.uniform(0.7, 1.3)
        low, high, mode = behaviour.lateness
        for bill in self.bills:
            if rng.random() < behaviour.never_paid and bill.due < self.today - timedelta(days=45):
                continue
            late = round(rng.triangular(low, high, mode) * (drift if mode > 0 else 1))
            paid_on = max(bill.due + timedelta(days=late), bill.issue + timedelta(days=1))
            if self.pay_run:
                paid_on += timedelta(days=(THURSDAY - paid_on.weekday()) % 7)
            if rng.random() < behaviour.partial:
                first_on = bill.issue + timedelta(
                    days=rng.randint(7, max(8, (paid_on - bill.issue).days - 1))
                )
                if first_on < paid_on:
                    first = round(bill.cents * rng.uniform(0.3, 0.7))
                    bill.parts = [(first_on, first, ""), (paid_on, bill.cents - first, "")]
                    continue
            bill.parts = [(paid_on, bill.cents, "")]

    def make_complaints(self) -> None:
        rng = self.rng
        candidates = [b for b in self.bills if b.issue <= self.today - timedelta(days=10)]
        wanted = sum(rng.random() < self.behaviour.complaint for _ in candidates)
        if self.kind == Kind.DISPUTER:
            wanted = max(wanted, 3)
        if not candidates or not wanted:
            return
        chosen = rng.sample(candidates, min(wanted, len(candidates)))
        recent = [b for b in candidates if b.issue >= self.today - timedelta(days=60) and b not in chosen]
        if self.kind == Kind.DISPUTER and recent:
            chosen.append(rng.choice(recent))  # a disputer always has one complaint still open
        for position, bill in enumerate(sorted(chosen, key=lambda b: b.issue)):
            self.complain(
                bill, keep_open=self.kind == Kind.DISPUTER and position == len(chosen) - 1 and recent
            )

    def complain(self, bill: Bill, keep_open: bool) -> None:
        rng, today = self.rng, self.today
        opened = min(bill.issue + timedelta(days=rng.randint(3, 35)), today - timedelta(days=1))
        resolved = opened + timedelta(days=rng.randint(7, 60))
        category = rng.choice(ComplaintCategory.values)
        bill.busy = True
        interaction = self.interact(
            opened, Outcome.DISPUTE, rng.randint(10, 30), direction=Direction.INBOUND,
            notes=f"Disputes {bill.number}: {names.COMPLAINT_WORDS[category]}",
        )  # fmt: skip
        complaint = Complaint(
            customer=self.customer,
            interaction=interaction,
            category=category,
            description=names.COMPLAINT_WORDS[category],
            opened_on=opened,
        )
        self.complaints.append((complaint, [bill]))
        if keep_open or resolved >= today or (opened > today - timedelta(days=40) and rng.random() < 0.5):
            bill.status, bill.parts = InvoiceStatus.DISPUTED, []
            bill.paused.append((opened, today + timedelta(days=1)))
            return
        complaint.resolved_on, complaint.resolved_by = resolved, self.world.manager
        bill.paused.append((opened, resolved))
        if rng.random() < 0.4:
            # Upheld: the invoice is credited in full, so it is cancelled on the day of the decision.
            complaint.outcome = ComplaintOutcome.UPHELD
            bill.status, bill.parts, bill.closed_on = InvoiceStatus.CANCELLED, [], resolved
            notes = f"Complaint about {bill.number} upheld; invoice credited."
        else:
            # Rejected: the customer pays in the end, later than they would have.
            complaint.outcome = ComplaintOutcome.REJECTED
            paid_on = max(bill.last_payment() or resolved, resolved + timedelta(days=rng.randint(2, 25)))
            bill.parts = [(paid_on, bill.cents, "")]
            notes = f"Complaint about {bill.number} rejected; payment expected."
        self.interact(resolved, Outcome.REACHED, rng.randint(8, 20), notes=notes)

    def make_plans(self) -> None:
        rng = self.rng
        plans = 0
        while rng.random() < self.behaviour.plan and plans < 2:
            plans += 1
            agreed_on = self.today - timedelta(days=rng.randint(40, 330))
            covered = [
                b
                for b in self.bills
                if not b.busy and b.due <= agreed_on - timedelta(days=15) and b.paid_by(agreed_on) == 0
            ][: rng.randint(2, 6)]
            if len(covered) >= 2:
                self.plan(agreed_on, covered)

    def plan(self, agreed_on: date, covered: list[Bill]) -> None:
        """A payment plan of monthly instalments over several overdue invoices, kept, broken or running."""
        rng, today = self.rng, self.today
        total = sum(b.cents for b in covered)
        count = rng.randint(3, 6)
        amounts = [total // count] * (count - 1) + [total - total // count * (count - 1)]
        breaks_at = rng.randrange(count) if rng.random() < self.behaviour.broken_share else None
        agreement = self.agreement(AgreementKind.PLAN, agreed_on, covered, total)
        for bill in covered:
            bill.parts, bill.busy = [], True
        owed = {id(b): b.cents for b in covered}
        for sequence, cents in enumerate(amounts, start=1):
            due_on = agreed_on + timedelta(days=14 + 30 * (sequence - 1))
            instalment = self.instalment(agreement, sequence, due_on, cents)
            if agreement.state != AgreementState.ACTIVE or due_on + timedelta(GRACE_DAYS) >= today:
                continue  # after a break, or not yet due: the instalment stays pending
            if breaks_at == sequence - 1:
                self.close(agreement, AgreementState.BROKEN, due_on + timedelta(GRACE_DAYS + 1))
                instalment.state, instalment.settled_on = InstalmentState.MISSED, agreement.closed_on
                continue
            paid_on = due_on - timedelta(days=rng.randint(0, 3))
            instalment.state, instalment.settled_on = InstalmentState.PAID, paid_on
            self.spread(covered, owed, paid_on, cents, run=f"plan-{agreement_key(agreement)}-{sequence}")
        if agreement.state == AgreementState.ACTIVE and all(
            i.state == InstalmentState.PAID for i in agreement.seed_instalments
        ):
            self.close(agreement, AgreementState.KEPT, max(i.settled_on for i in agreement.seed_instalments))
        end = agreement.closed_on or today + timedelta(days=1)
        for bill in covered:
            bill.paused.append((agreed_on, end))
        if agreement.state == AgreementState.BROKEN and rng.random() < 0.6:
            # What a broken plan left open is paid, late, in one go.
            paid_on = agreement.closed_on + timedelta(days=rng.randint(20, 150))
            for bill in covered:
                if owed[id(bill)]:
                    bill.parts.append((paid_on, owed[id(bill)], ""))

    def spread(self, covered: list[Bill], owed: dict, paid_on: date, cents: int, run: str) -> None:
        """Allocate one instalment's payment over the plan's invoices, oldest first."""
        for bill in covered:
            share = min(cents, owed[id(bill)])
            if share:
                bill.parts.append((paid_on, share, run))
                owed[id(bill)] -= share
                cents -= share
            if not cents:
                return

    def make_promises(self) -> None:
        rng, behaviour = self.rng, self.behaviour
        must_break = 2 if self.kind == Kind.PROMISE_BREAKER else 0
        has_active = False
        for bill in self.bills:
            if bill.busy or bill.status != InvoiceStatus.OPEN or bill.due > self.today - timedelta(days=5):
                continue
            last = bill.last_payment()
            settled = sum(p[1] for p in bill.parts) >= bill.cents
            if last and settled and last <= bill.due + timedelta(days=10):
                continue  # paid about on time: nothing to promise
            if not must_break and rng.random() >= behaviour.promise:
                continue
            open_now = not settled or last > self.today
            if must_break or rng.random() < behaviour.broken_share:
                if self.broken_promise(bill, last if settled else None):
                    must_break = max(must_break - 1, 0)
            elif open_now and not has_active:
                has_active = self.active_promise(bill)
            elif not open_now:
                self.kept_promise(bill, last)

    def kept_promise(self, bill: Bill, paid_on: date) -> None:
        rng = self.rng
        promised = paid_on + timedelta(days=rng.randint(-GRACE_DAYS + 1, 5))
        made_on = promised - timedelta(days=rng.randint(2, 10))
        if made_on <= bill.due or made_on >= paid_on:
            return
        agreement = self.promise(bill, made_on, promised)
        agreement.seed_instalments[0].state = InstalmentState.PAID
        agreement.seed_instalments[0].settled_on = paid_on
        self.close(agreement, AgreementState.KEPT, paid_on)

    def broken_promise(self, bill: Bill, paid_on: date | None) -> bool:
        rng = self.rng
        limit = min(paid_on or self.today, self.today) - timedelta(days=GRACE_DAYS + 3)
        earliest = bill.due + timedelta(days=2)
        if limit < earliest:
            return False
        made_on = earliest + timedelta(days=rng.randint(0, (limit - earliest).days))
        room = (limit - made_on).days + 2
        promised = made_on + timedelta(days=rng.randint(2, min(7, room)))
        agreement = self.promise(bill, made_on, promised)
        self.close(agreement, AgreementState.BROKEN, promised + timedelta(days=GRACE_DAYS + 1))
        agreement.seed_instalments[0].state = InstalmentState.MISSED
        agreement.seed_instalments[0].settled_on = agreement.closed_on
        self.interact(agreement.closed_on, Outcome.NO_ANSWER, 1, notes=f"Promise for {bill.number} not kept.")
        self.task(
            TaskKind.BROKEN_AGREEMENT, agreement.closed_on, f"Promise to pay {bill.number} was broken",
            done=agreement.closed_on < self.today - timedelta(days=14),
        )  # fmt: skip
        return True

    def active_promise(self, bill: Bill) -> bool:
        rng, today = self.rng, self.today
        made_on = max(today - timedelta(days=rng.randint(0, 7)), bill.due + timedelta(days=1))
        if made_on > today:
            return False
        promised = today + timedelta(days=rng.randint(1, 14))
        self.promise(bill, made_on, promised)
        # What they pay after the promise is not known yet: the promise is still running.
        bill.parts = [part for part in bill.parts if part[0] <= made_on]
        self.task(
            TaskKind.FOLLOW_UP_PROMISE, promised + timedelta(days=1), f"Check payment promised for {promised}"
        )
        return True

    def promise(self, bill: Bill, made_on: date, promised: date) -> Record:
        cents = bill.cents - bill.paid_by(made_on)
        agreement = self.agreement(AgreementKind.PROMISE, made_on, [bill], cents)
        self.instalment(agreement, 1, promised, cents)
        bill.busy = True
        return agreement

    def agreement(self, kind: str, made_on: date, covered: list[Bill], cents: int) -> Record:
        agreement = Agreement(
            customer=self.customer,
            kind=kind,
            currency=self.customer.currency,
            total_amount=money(cents),
            made_on=made_on,
            made_by=self.owner,
        )
        agreement.seed_instalments = []
        self.agreements.append((agreement, covered, agreement.seed_instalments))
        words = "a payment plan" if kind == AgreementKind.PLAN else "to pay"
        self.interact(
            made_on, Outcome.PROMISE, self.rng.randint(8, 25), agreement=agreement,
            notes=f"Agreed {words} {money(cents)} {self.customer.currency} for {numbers(covered)}.",
        )  # fmt: skip
        return agreement

    def instalment(self, agreement: Record, sequence: int, due_on: date, cents: int) -> Record:
        instalment = Instalment(agreement=agreement, sequence=sequence, due_date=due_on, amount=money(cents))
        agreement.seed_instalments.append(instalment)
        return instalment

    def close(self, agreement: Record, state: str, on: date) -> None:
        agreement.state, agreement.closed_on = state, on

    def write_off_old_debts(self) -> None:
        if self.kind not in (Kind.CHRONIC_LATE, Kind.PROMISE_BREAKER):
            return
        year_ago = self.today - timedelta(days=365)
        for bill in self.bills:
            if not bill.parts and not bill.busy and bill.status == InvoiceStatus.OPEN and bill.due < year_ago:
                if self.rng.random() < 0.5:
                    bill.status = InvoiceStatus.WRITTEN_OFF

    def drop_future_payments(self) -> None:
        for bill in self.bills:
            bill.parts = [part for part in bill.parts if part[0] <= self.today]

    # -- the collector's effort ------------------------------------------------------------------

    def make_chase_history(self) -> None:
        """Weekly, while invoices are overdue, the collector may chase: calls, emails, sometimes a visit."""
        rng, today = self.rng, self.today
        chased = [b for b in self.bills if b.status != InvoiceStatus.DISPUTED]
        starts = sorted(b.due + timedelta(days=1) for b in chased)
        ends = sorted(max(b.overdue_end(today), b.due + timedelta(days=1)) for b in chased)
        chance = min(self.behaviour.chase * (0.4 + 0.6 * self.difficulty), 0.95)
        day = today - timedelta(days=HISTORY_DAYS)
        while day < today:
            contact_day = min(day + timedelta(days=rng.randint(0, 4)), today - timedelta(days=1))
            overdue = bisect_right(starts, contact_day) - bisect_right(ends, contact_day)
            if overdue > 0 and rng.random() < chance:
                self.chase(contact_day, overdue)
            day += timedelta(days=7)

    def chase(self, day: date, overdue: int) -> None:
        rng, behaviour = self.rng, self.behaviour
        effort = self.difficulty
        channel = rng.random()
        if channel < 0.25:
            self.interact(day, Outcome.REACHED, rng.randint(3, 8), channel=InteractionChannel.EMAIL,
                          notes=f"Emailed statement of {overdue} overdue invoice(s).")  # fmt: skip
            return
        if channel < 0.27 and self.profile.name == "Key accounts" and effort > 1.5:
            self.interact(day, Outcome.REACHED, rng.randint(60, 150), channel=InteractionChannel.VISIT,
                          notes="Visited the finance team about the overdue balance.")  # fmt: skip
            return
        answer = rng.random()
        if answer < 0.03:
            self.interact(day, Outcome.WRONG_NUMBER, rng.randint(2, 5), notes="Number no longer in use.")
        elif answer < 0.28:
            self.interact(day, Outcome.NO_ANSWER, rng.randint(1, 2))
        elif answer < 0.43:
            self.interact(
                day, Outcome.VOICEMAIL, rng.randint(2, 3), notes="Left a message asking to call back."
            )
        elif rng.random() < behaviour.refusal:
            self.interact(day, Outcome.REFUSED, round(rng.randint(8, 20) * effort),
                          notes="Refuses to pay until their own issues are sorted.")  # fmt: skip
        elif rng.random() < behaviour.excuse:
            self.excuse(day, round(rng.randint(5, 15) * effort))
        else:
            self.interact(day, Outcome.REACHED, round(rng.randint(4, 12) * effort),
                          notes=f"Discussed {overdue} overdue invoice(s); payment prepared.")  # fmt: skip

    def excuse(self, day: date, minutes: int) -> None:
        rng = self.rng
        if not hasattr(self, "favourite_excuses"):
            self.favourite_excuses = rng.sample(ExcuseCategory.values, 2)
        if self.kind == Kind.EXCUSE_MAKER and rng.random() < 0.75:
            category = rng.choice(self.favourite_excuses)
        else:
            category = rng.choice(ExcuseCategory.values)
        words = rng.choice(names.EXCUSE_WORDS[category])
        interaction = self.interact(day, Outcome.EXCUSE, min(minutes, 240), notes=words)
        overdue = [b for b in self.bills if b.due < day < b.overdue_end(self.today)][:3]
        excuse = Excuse(
            customer=self.customer, interaction=interaction, category=category, words=words, given_on=day
        )
        self.excuses.append((excuse, overdue))

    def interact(self, day: date, outcome: str, minutes: int, **fields) -> Record:
        fields.setdefault("channel", InteractionChannel.PHONE)
        interaction = Interaction(
            customer=self.customer,
            contact=self.contacts[0],
            user=self.owner,
            occurred_at=self.moment(day),
            outcome=outcome,
            minutes_spent=min(minutes, 24 * 60),
            **fields,
        )
        self.interactions.append(interaction)
        return interaction

    def moment(self, day: date) -> datetime:
        """A time in office hours on `day`, in the project's time zone."""
        return datetime.combine(
            day, time(self.rng.randint(8, 17), self.rng.randrange(0, 60, 5)), tzinfo=self.world.tz
        )

    # -- where the account stands today ------------------------------------------------------------

    def overdue_today(self) -> list[Bill]:
        return [
            b for b in self.bills
            if b.status == InvoiceStatus.OPEN and b.due < self.today and b.paid_by(self.today) < b.cents
        ]  # fmt: skip

    def set_account_flags(self) -> None:
        rng, customer = self.rng, self.customer
        overdue = self.overdue_today()
        long_overdue = any(b.due < self.today - timedelta(days=60) for b in overdue)
        if self.kind in (Kind.CHRONIC_LATE, Kind.PROMISE_BREAKER) and long_overdue and rng.random() < 0.5:
            customer.credit_hold = True
        if self.kind == Kind.CHRONIC_LATE and rng.random() < 0.3:
            customer.prepayment_only = True
        if any(b.status == InvoiceStatus.DISPUTED for b in self.bills) and rng.random() < 0.3:
            customer.dunning_paused_until = self.today + timedelta(days=rng.randint(5, 21))
        if overdue and self.interactions:
            last = max(self.interactions, key=lambda i: i.occurred_at)
            last.next_action_on = self.today + timedelta(days=rng.randint(0, 7))

    def make_open_tasks(self) -> None:
        overdue = self.overdue_today()
        if not overdue or self.rng.random() >= 0.7:
            return
        open_cents = sum(b.cents - b.paid_by(self.today) for b in overdue)
        self.task(
            TaskKind.CALL, self.today + timedelta(days=self.rng.randint(-4, 3)),
            f"{len(overdue)} overdue invoice(s), {money(open_cents)} {self.customer.currency} open",
        )  # fmt: skip

    def task(self, kind: str, due_on: date, reason: str, done: bool = False) -> None:
        task = Task(customer=self.customer, assigned_to=self.owner, kind=kind, reason=reason, due_on=due_on)
        if done:
            task.status = TaskStatus.DONE
            task.done_at = self.moment(due_on + timedelta(days=self.rng.randint(0, 3)))
        self.tasks.append(task)

    # -- out to rows ---------------------------------------------------------------------------

    def emit(self, rows: Rows) -> None:
        """Give every row of the account its id, then add them to `rows` as tuples."""
        ids, created_at = self.world.ids, self.world.created_at
        records = (
            (Customer, [self.customer]),
            (Contact, self.contacts),
            (Agreement, [agreement for agreement, _, _ in self.agreements]),
            (Instalment, [instalment for _, _, instalments in self.agreements for instalment in instalments]),
            (Interaction, self.interactions),
            (Excuse, [excuse for excuse, _ in self.excuses]),
            (Complaint, [complaint for complaint, _ in self.complaints]),
            (Task, self.tasks),
        )
        for _, group in records:
            ids.assign(group)
        self.emit_ledger(rows)
        for kind, group in records:
            rows.add(kind.model, [record.row(created_at) for record in group])
        links = (
            (AgreementInvoice, [(agreement, covered) for agreement, covered, _ in self.agreements]),
            (ExcuseInvoice, self.excuses),
            (ComplaintInvoice, self.complaints),
        )
        for table, pairs in links:
            rows.add(table, [(owner.id, bill.invoice_id) for owner, bills in pairs for bill in bills])
        self.emit_reminders(rows)
        rows.accounts.append(f"{self.customer.name} ({self.account_number})")

    def emit_ledger(self, rows: Rows) -> None:
        """Invoices, then payments grouped by (day, run), each allocated over the invoices it settles."""
        ids, created_at = self.world.ids, self.world.created_at
        customer_id, currency = self.customer.id, self.customer.currency
        invoices, payments, allocations = [], [], []
        runs: dict[tuple[date, str], list[tuple[Bill, int]]] = {}
        for bill in self.bills:
            paid = sum(part[1] for part in bill.parts)
            status = bill.status
            if status == InvoiceStatus.OPEN and paid >= bill.cents:
                status = InvoiceStatus.PAID
            bill.invoice_id = ids.take(Invoice)
            invoices.append(
                (
                    bill.invoice_id, bill.number, customer_id, bill.issue, bill.due, money(bill.cents),
                    currency, money(paid), status, f"Goods and services, order {bill.number[-4:]}",
                    created_at, created_at,
                )
            )  # fmt: skip
            for paid_on, cents, run in bill.parts:
                runs.setdefault((paid_on, run), []).append((bill, cents))
        for (paid_on, _run), shares in sorted(runs.items()):
            self.payment_sequence += 1
            merged: dict[int, list] = {}
            for bill, cents in shares:  # one allocation per (payment, invoice)
                merged.setdefault(id(bill), [bill, 0])[1] += cents
            total = money(sum(cents for _, cents in merged.values()))
            payment_id = ids.take(Payment)
            payments.append(
                (
                    payment_id, customer_id, f"PAY-{self.account_number}-{self.payment_sequence:04d}",
                    paid_on, total, currency, total, created_at,
                )
            )  # fmt: skip
            allocations.extend((payment_id, bill.invoice_id, money(cents)) for bill, cents in merged.values())
        rows.add(Invoice, invoices)
        rows.add(Payment, payments)
        rows.add(Allocation, allocations)

    def emit_reminders(self, rows: Rows) -> None:
        """Reminders sent before `today` at each dunning step, one per (step, day) listing its invoices."""
        segment = self.profile.name
        steps = self.world.steps.get(segment) or self.world.steps.get(None) or []
        business_days = self.world.business_days_only.get(
            segment if segment in self.world.steps else None, False
        )
        lines: dict[tuple[Step, date], list[tuple[Bill, int]]] = {}
        for bill in self.bills:
            for step in steps:
                run_on = bill.due + timedelta(days=step.offset_days)
                if business_days and run_on.weekday() >= 5:
                    run_on += timedelta(days=7 - run_on.weekday())
                if run_on >= self.today or any(start <= run_on < end for start, end in bill.paused):
                    continue
                if bill.closed_on and run_on >= bill.closed_on:
                    continue
                open_cents = bill.cents - bill.paid_by(run_on)
                if open_cents > 0:
                    lines.setdefault((step, run_on), []).append((bill, open_cents))
        ids, created_at, tz = self.world.ids, self.world.created_at, self.world.tz
        reminders, reminder_lines = [], []
        by_day = sorted(lines.items(), key=lambda item: (item[0][1], item[0][0].offset_days))
        for (step, run_on), bills in by_day:
            subject, body = self.reminder_words(step, run_on, bills)
            reminder_id = ids.take(Reminder)
            reminders.append(
                (
                    reminder_id, self.customer.id, step.id, run_on, step.channel, step.tone, subject, body,
                    DeliveryStatus.SENT, 1, "", datetime.combine(run_on, SENT_AT, tzinfo=tz), "", created_at,
                )
            )  # fmt: skip
            reminder_lines.extend((reminder_id, bill.invoice_id, money(cents)) for bill, cents in bills)
        rows.add(Reminder, reminders)
        rows.add(ReminderInvoice, reminder_lines)

    def reminder_words(self, step: Step, run_on: date, bills: list[tuple[Bill, int]]) -> tuple[str, str]:
        """Subject and body as the dunning run words them (its own templates and rendering).

        Rendering is most of the cost of a large seed, so reminders older than WORDED_DAYS keep a
        short subject and no body: nobody rereads a letter from last year, the invoices are listed.
        """
        if run_on < self.today - timedelta(days=WORDED_DAYS):
            return short_subject(step, len(bills)), ""
        currency = self.customer.currency
        lines = [
            InvoiceLine(
                invoice_id=None,  # the templates show numbers, not ids
                number=bill.number,
                issue_date=bill.issue,
                due_date=bill.due,
                currency=currency,
                amount=money(bill.cents),
                open_amount=money(cents),
                days_overdue=(run_on - bill.due).days,
            )
            for bill, cents in bills
        ]
        words = compose(self.customer, contact=self.contacts[0], step=step, lines=lines, today=run_on)
        return words.subject, words.body


@lru_cache(maxsize=1024)
def short_subject(step: Step, count: int) -> str:
    """The subject of an old reminder: the same for every reminder of a step listing `count` invoices."""
    return f"{step.get_tone_display()} reminder ({step.offset_label} days): {count} invoice(s)"


def numbers(bills: list[Bill]) -> str:
    return ", ".join(bill.number for bill in bills)


def agreement_key(agreement: Record) -> str:
    return f"{agreement.made_on:%Y%m%d}"


def weighted(rng: random.Random, items, weights):
    return rng.choices(items, weights=weights, k=1)[0]


def postal_code(rng: random.Random, country: str) -> str:
    if country == "NL":
        return f"{rng.randint(1000, 9999)} {chr(65 + rng.randrange(26))}{chr(65 + rng.randrange(26))}"
    if country == "GB":
        area = f"{chr(65 + rng.randrange(26))}{chr(65 + rng.randrange(26))}{rng.randint(1, 20)}"
        return f"{area} {rng.randint(1, 9)}AB"
    if country == "IE":
        return f"D{rng.randint(1, 24):02d}"
    if country in ("BE",):
        return f"{rng.randint(1000, 9999)}"
    return f"{rng.randint(10000, 99999)}"


def ascii_mailbox(text: str, keep: str = "") -> str:
    """Lower-case ASCII letters and digits for an e-mail address: López -> lopez, Müller -> muller.

    Accents are taken off (NFKD splits é into e and a combining mark, which is dropped), so the demo's
    addresses are plain ASCII like the API's `format: email` says.
    """
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return "".join(ch for ch in plain if ch.isalnum() or ch in keep)
