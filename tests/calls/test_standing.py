"""The worklist's precomputed standings: kept by the services, equal to a full recomputation, and
the worklist read from them equal to its live definition (calls.standing.live_worklist_facts)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreements.choices import AgreementState
from agreements.models import Agreement
from agreements.services import InstalmentTerms, cancel_agreement, check_agreements
from calls import standing, tasks
from calls.choices import TaskStatus
from calls.models import Complaint, Standing, Task
from calls.selectors import (
    filter_worklist,
    priority_expression,
    with_worklist_facts,
    worklist,
    worklist_page,
)
from calls.services import (
    CallLog,
    ComplaintInput,
    complete_task,
    create_task,
    log_call,
    open_complaint,
    resolve_complaint,
)
from calls.standing import REASON_COLUMNS
from customers.models import Customer
from customers.services import assign_collector, upsert_customer
from invoices.models import Invoice
from invoices.services import (
    AllocationRequest,
    InvoiceData,
    bulk_upsert_invoices,
    record_payment,
    upsert_invoice,
)
from reports.early_warning import Warning, keep_warnings
from reports.scores import rebuild_worth_it_scores
from tests.calls.scenes import overdue_customer
from tests.conftest import TODAY_AT
from tests.factories import (
    TODAY,
    AgreementFactory,
    CustomerFactory,
    InstalmentFactory,
    InteractionFactory,
    InvoiceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

COMPARED = (
    "overdue_amount",
    "oldest_due_date",
    "last_contact_at",
    "reason_broken",
    "reason_task",
    "reason_promise_due",
    "reason_overdue",
    "reason_warning",
    "priority",
)


def facts(queryset_of, today):
    rows = queryset_of(Customer.objects.all(), today=today)
    if queryset_of is standing.live_worklist_facts:
        rows = rows.annotate(priority=priority_expression(today))
    return {row["pk"]: row for row in rows.values("pk", *COMPARED)}


def assert_worklist_equals_live(today):
    """The standing-based facts, reasons and priority equal the live definitions for every customer."""
    assert facts(with_worklist_facts, today) == facts(standing.live_worklist_facts, today)


def assert_kept_day_equals_live(today):
    """Every row restated for `today` holds the day's worklist as the live definition computes it:
    on the worklist exactly when a reason holds, with the same reasons, priority and oldest overdue
    date, and an overdue amount valid for the day."""
    live = facts(standing.live_worklist_facts, today)
    kept = Standing.objects.filter(priority_as_of=today)
    for row in kept:
        expected = live[row.customer_id]
        reasons = {name: expected[name] for name in REASON_COLUMNS}
        assert row.on_worklist == any(reasons.values()), (today, row.customer_id)
        assert {name: getattr(row, name) for name in REASON_COLUMNS} == reasons
        assert (row.priority, row.overdue_since) == (expected["priority"], expected["oldest_due_date"])
        assert row.overdue_amount == expected["overdue_amount"]


def on_the_worklist(manager, today, *, kept):
    return list(
        worklist(user=manager, today=today, kept=kept).values_list("pk", "priority", "overdue_amount")
    )


def row_of(customer) -> Standing:
    return Standing.objects.get(customer=customer)


def invoice(customer, *, due, amount="100.00", currency=None, number=None):
    return upsert_invoice(
        number=number or f"I-{Invoice.objects.count() + 1}",
        customer=customer,
        issue_date=due - dt.timedelta(days=30),
        due_date=due,
        amount=Decimal(amount),
        currency=currency or customer.currency,
    )[0]


# --- Plain tests: each column and each reason ---------------------------------------------------


def test_services_keep_the_overdue_columns_in_the_same_transaction(credit_manager):
    customer, _ = upsert_customer(account_number="A1", name="Acme", currency="EUR", actor=credit_manager)
    assert row_of(customer).oldest_open_due_on is None
    old = invoice(customer, due=TODAY - dt.timedelta(days=40), amount="300.00")
    invoice(customer, due=TODAY - dt.timedelta(days=10), amount="200.00")
    invoice(customer, due=TODAY - dt.timedelta(days=50), amount="999.00", currency="USD")  # not added to EUR
    invoice(customer, due=TODAY + dt.timedelta(days=5), amount="50.00")
    row = row_of(customer)
    assert row.oldest_open_due_on == TODAY - dt.timedelta(days=50)
    assert (row.overdue_amount, row.overdue_as_of, row.next_due_on) == (
        Decimal("500.00"), TODAY, TODAY + dt.timedelta(days=5),
    )  # fmt: skip
    record_payment(
        customer=customer, reference="P1", received_on=TODAY, amount=Decimal("300.00"), currency="EUR",
        allocations=[AllocationRequest(old.number, Decimal("300.00"))],
    )  # fmt: skip
    assert row_of(customer).overdue_amount == Decimal("200.00")


def test_broken_reason_is_the_latest_broken_agreement_in_the_window_without_contact_since(collector):
    customer = CustomerFactory(collector=collector)
    InvoiceFactory(customer=customer, due_date=TODAY - dt.timedelta(days=20))
    AgreementFactory(customer=customer, state="broken", closed_on=TODAY - dt.timedelta(days=90))
    InteractionFactory(customer=customer, occurred_at=TODAY_AT - dt.timedelta(days=30))
    assert facts(with_worklist_facts, TODAY)[customer.pk]["reason_broken"] is False  # outside the window
    AgreementFactory(customer=customer, state="broken", closed_on=TODAY - dt.timedelta(days=9))
    assert row_of(customer).latest_broken_on == TODAY - dt.timedelta(days=9)
    assert facts(with_worklist_facts, TODAY)[customer.pk]["reason_broken"] is True
    InteractionFactory(customer=customer, occurred_at=TODAY_AT - dt.timedelta(days=2))
    assert facts(with_worklist_facts, TODAY)[customer.pk]["reason_broken"] is False
    assert_worklist_equals_live(TODAY)


def test_task_reason_from_the_first_open_task_and_a_later_task_holds_the_overdue_reason(credit_manager):
    customer = CustomerFactory()
    InvoiceFactory(customer=customer, due_date=TODAY - dt.timedelta(days=20))
    assert facts(with_worklist_facts, TODAY)[customer.pk]["reason_overdue"] is True
    later = create_task(customer=customer, kind="call", reason="Later", due_on=TODAY + dt.timedelta(days=3),
                        actor=credit_manager)  # fmt: skip
    row = facts(with_worklist_facts, TODAY)[customer.pk]
    assert (row["reason_overdue"], row["reason_task"]) == (False, False)
    due = create_task(customer=customer, kind="call", reason="Now", due_on=TODAY, actor=credit_manager)
    assert (row_of(customer).first_open_task_on, row_of(customer).last_open_task_on) == (TODAY, later.due_on)
    assert facts(with_worklist_facts, TODAY)[customer.pk]["reason_task"] is True
    complete_task(task=due, actor=credit_manager)
    complete_task(task=later, actor=credit_manager)
    row = facts(with_worklist_facts, TODAY)[customer.pk]
    assert (row["reason_task"], row["reason_overdue"]) == (False, True)
    assert_worklist_equals_live(TODAY)


def test_promise_due_today_and_an_active_agreement(collector):
    customer = CustomerFactory(collector=collector)
    InvoiceFactory(customer=customer, due_date=TODAY - dt.timedelta(days=20))
    agreement = AgreementFactory(customer=customer)
    InstalmentFactory(agreement=agreement, due_date=TODAY)
    assert row_of(customer).has_active_agreement is True
    row = facts(with_worklist_facts, TODAY)[customer.pk]
    assert (row["reason_promise_due"], row["reason_overdue"]) == (True, False)
    cancel_agreement(agreement=agreement, today=TODAY, actor=collector)
    row = facts(with_worklist_facts, TODAY)[customer.pk]
    assert (row["reason_promise_due"], row["reason_overdue"]) == (False, True)
    assert_worklist_equals_live(TODAY)


def test_a_stale_overdue_amount_is_computed_live_then_rolled_forward():
    customer = CustomerFactory()
    InvoiceFactory(customer=customer, due_date=TODAY - dt.timedelta(days=10), amount=Decimal("100.00"))
    InvoiceFactory(customer=customer, due_date=TODAY + dt.timedelta(days=2), amount=Decimal("40.00"))
    assert row_of(customer).next_due_on == TODAY + dt.timedelta(days=2)
    later = TODAY + dt.timedelta(days=5)
    assert facts(with_worklist_facts, TODAY + dt.timedelta(days=2))[customer.pk]["overdue_amount"] == 100
    assert facts(with_worklist_facts, later)[customer.pk]["overdue_amount"] == 140  # stale: live
    assert standing.stale_ids(today=later) == [customer.pk]
    assert tasks.roll_standings_forward(later.isoformat()) == 1
    row = row_of(customer)
    assert (row.overdue_amount, row.overdue_as_of, row.next_due_on) == (Decimal("140.00"), later, None)
    assert standing.stale_ids(today=later) == []
    assert_worklist_equals_live(later)


def test_a_currency_change_restates_the_overdue_amount(credit_manager):
    customer, _ = upsert_customer(account_number="A2", name="Beta", currency="EUR", actor=credit_manager)
    invoice(customer, due=TODAY - dt.timedelta(days=10), amount="70.00", currency="USD")
    assert row_of(customer).overdue_amount == 0
    upsert_customer(account_number="A2", currency="USD", actor=credit_manager)
    assert row_of(customer).overdue_amount == Decimal("70.00")


def test_bulk_invoice_sync_keeps_standings_for_every_customer():
    customers = CustomerFactory.create_batch(3)
    bulk_upsert_invoices(
        [
            InvoiceData(f"B-{c.pk}", c.account_number, TODAY - dt.timedelta(days=40),
                        TODAY - dt.timedelta(days=10), Decimal("12.50"), "EUR")
            for c in customers
        ]
    )  # fmt: skip
    assert {row_of(c).overdue_amount for c in customers} == {Decimal("12.50")}
    assert not standing.find_drift()


def test_refreshing_costs_the_same_queries_for_1_or_40_customers():
    customers = CustomerFactory.create_batch(40)
    for customer in customers:
        InvoiceFactory(customer=customer, due_date=TODAY - dt.timedelta(days=3))
    with CaptureQueriesContext(connection) as one:
        standing.refresh_standings([customers[0].pk], as_of=TODAY)
    with CaptureQueriesContext(connection) as many:
        standing.refresh_standings([c.pk for c in customers], as_of=TODAY)
    assert len(one) == len(many) <= 4


def test_check_reports_drift_and_the_command_and_nightly_task_repair_it():
    customers = CustomerFactory.create_batch(2)
    InvoiceFactory(customer=customers[0], due_date=TODAY - dt.timedelta(days=3), amount=Decimal("10.00"))
    call_command("rebuild_standings", "--check")  # consistent
    Standing.objects.filter(customer=customers[0]).update(overdue_amount=Decimal("99.00"))
    Standing.objects.filter(customer=customers[1]).delete()
    with pytest.raises(CommandError, match="1 missing, 1 wrong"):
        call_command("rebuild_standings", "--check")
    assert tasks.check_standings(TODAY.isoformat()) == 2
    call_command("rebuild_standings", "--check")
    assert row_of(customers[0]).overdue_amount == Decimal("10.00")
    Standing.objects.all().delete()
    call_command("rebuild_standings")
    assert Standing.objects.count() == 2 and not standing.find_drift()


# --- The property: any sequence of service calls keeps the standings exact ------------------------

operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("invoice"),
            st.integers(0, 1),
            st.integers(-60, 20),
            st.integers(1, 90_000),
            st.sampled_from(["EUR", "EUR", "USD"]),
        ),
        st.tuples(st.just("pay"), st.integers(0, 30), st.sampled_from([25, 50, 100])),
        st.tuples(st.just("call"), st.integers(0, 1), st.sampled_from(["none", "promise", "next"])),
        st.tuples(st.just("task"), st.integers(0, 1), st.integers(-5, 10)),
        st.tuples(st.just("complete"), st.integers(0, 30)),
        st.tuples(st.just("dispute"), st.integers(0, 30)),
        st.tuples(st.just("resolve"), st.integers(0, 30)),
        st.tuples(st.just("cancel"), st.integers(0, 30)),
        st.tuples(st.just("days"), st.integers(1, 12)),
        st.tuples(st.just("warn"), st.integers(0, 1), st.booleans()),
    ),  # fmt: skip
    max_size=14,
)


class Ledger:
    """Applies random operations through the services, as a person, the ERP and the daily run would."""

    def __init__(self, actor):
        self.actor = actor
        self.customers = [
            upsert_customer(account_number=f"H{n}", name=f"H{n}", currency=currency, actor=actor)[0]
            for n, currency in enumerate(["EUR", "USD"])
        ]
        self.payments = 0
        # Scores kept from the start, so every step's refresh rewrites them and their copies on the
        # standings, which the drift check compares after each step.
        rebuild_worth_it_scores(today=self.today())

    @staticmethod
    def pick(queryset, index):
        rows = list(queryset.order_by("pk"))
        return rows[index % len(rows)] if rows else None

    def today(self):
        from django.utils import timezone

        return timezone.localdate()

    def apply(self, operation, clock):
        kind, *args = operation
        getattr(self, kind)(*args) if kind != "days" else self.days(*args, clock=clock)

    def invoice(self, which, due_in, cents, currency):
        invoice(self.customers[which], due=self.today() + dt.timedelta(days=due_in),
                amount=Decimal(cents) / 100, currency=currency)  # fmt: skip

    def pay(self, index, share):
        target = self.pick(Invoice.objects.filter(status="open"), index)
        if target is None:
            return
        amount = ((target.amount - target.allocated_amount) * share / 100).quantize(Decimal("0.01"))
        if amount <= 0:
            return
        self.payments += 1
        record_payment(
            customer=target.customer, reference=f"R{self.payments}", received_on=self.today(), amount=amount,
            currency=target.currency, allocations=[AllocationRequest(target.number, amount)],
        )  # fmt: skip

    def call(self, which, outcome):
        customer = self.customers[which]
        today = self.today()
        log_call(
            customer=customer, user=self.actor, today=today,
            call=CallLog(
                outcome="promise" if outcome == "promise" else "reached",
                promise=InstalmentTerms(today + dt.timedelta(days=2), Decimal("10.00"))
                if outcome == "promise" else None,
                next_action_on=today + dt.timedelta(days=4) if outcome == "next" else None,
            ),
        )  # fmt: skip

    def task(self, which, due_in):
        create_task(customer=self.customers[which], kind="call", reason="Call",
                    due_on=self.today() + dt.timedelta(days=due_in), actor=self.actor)  # fmt: skip

    def complete(self, index):
        task = self.pick(Task.objects.filter(status=TaskStatus.OPEN), index)
        if task:
            complete_task(task=task, actor=self.actor)

    def dispute(self, index):
        target = self.pick(Invoice.objects.filter(status="open"), index)
        if target:
            open_complaint(customer=target.customer, complaint=ComplaintInput("quality", "Broken goods"),
                           invoices=[target], today=self.today(), actor=self.actor)  # fmt: skip

    def resolve(self, index):
        complaint = self.pick(Complaint.objects.filter(resolved_on__isnull=True), index)
        if complaint:
            resolve_complaint(complaint=complaint, outcome="rejected", user=self.actor, today=self.today())

    def cancel(self, index):
        agreement = self.pick(Agreement.objects.filter(state=AgreementState.ACTIVE), index)
        if agreement:
            cancel_agreement(agreement=agreement, today=self.today(), actor=self.actor)

    def warn(self, which, flagged):
        """The reports app flags (or clears) a customer's early warning, as its refresh does."""
        customer = self.customers[which]
        found = (
            {customer.pk: Warning(customer.pk, reasons=["Paying later"], kinds=["later"])} if flagged else {}
        )
        keep_warnings(found, customer_ids=[customer.pk], today=self.today())

    def days(self, count, clock):
        """The calendar moves on; the daily run settles agreements (promises break after grace)."""
        clock.shift(dt.timedelta(days=count))
        check_agreements(today=self.today())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=operations, look_ahead=st.integers(0, 15))
def test_after_any_sequence_of_service_calls_standings_equal_a_full_recomputation(
    steps, look_ahead, credit_manager, clock
):
    clock.move_to(TODAY_AT)
    with transaction.atomic():
        ledger = Ledger(credit_manager)
        for step in steps:
            ledger.apply(step, clock)
            drift = standing.find_drift()  # after every step: a write that forgot to announce shows here
            assert not drift, (step, drift)
            assert_kept_day_equals_live(ledger.today())  # the receivers restate the day with the facts
        today = ledger.today()
        for day in (today, today + dt.timedelta(days=look_ahead)):
            assert_worklist_equals_live(day)
        later = today + dt.timedelta(days=look_ahead)
        standing.roll_forward(today=later)  # the daily roll restates every row for the new day
        assert not Standing.objects.exclude(priority_as_of=later).exists()
        assert_kept_day_equals_live(later)
        assert on_the_worklist(credit_manager, later, kept=True) == on_the_worklist(
            credit_manager, later, kept=False
        )
        transaction.set_rollback(True)


# --- Today's page from the kept day ---------------------------------------------------------------


def page_of(user, criteria=None, **kwargs):
    page = worklist_page(user=user, criteria=criteria or {}, today=TODAY, number=1, per_page=25, **kwargs)
    return [customer.pk for customer in page.object_list], page.paginator.count


def counting_queries(captured) -> list[str]:
    """The queries that find a page's ids and count the list (calls.selectors.CountingPaginator)."""
    return [query["sql"] for query in captured.captured_queries if "full_count" in query["sql"]]


def test_todays_page_is_read_from_the_kept_day_and_live_once_a_row_is_not_restated(credit_manager, collector):
    late = overdue_customer(collector, days_late=100, amount="60000.00", invoices=1)
    middle = overdue_customer(collector, days_late=40, amount="500.00", invoices=1)
    unassigned = overdue_customer(None, days_late=10, amount="50.00", invoices=1)
    overdue_customer(collector, days_late=2, invoices=1)  # not 7 days late: not on the list
    expected = ([late.pk, middle.pk, unassigned.pk], 3)
    with CaptureQueriesContext(connection) as kept:
        assert page_of(credit_manager) == expected
    [ids_query] = counting_queries(kept)
    assert 'FROM "calls_standing"' in ids_query and "customers_customer" not in ids_query
    assert page_of(credit_manager, {"sort": "amount", "min_amount": Decimal("100")}) == (
        [late.pk, middle.pk],
        2,
    )
    assert page_of(credit_manager, {"unassigned": True}) == ([unassigned.pk], 1)
    assert page_of(collector) == ([late.pk, middle.pk], 2)
    # A row still holding yesterday's day (before the daily roll): the same page, computed live.
    Standing.objects.filter(customer=middle).update(priority_as_of=TODAY - dt.timedelta(days=1), priority=0)
    with CaptureQueriesContext(connection) as live:
        assert page_of(credit_manager) == expected
    kept_query, live_query = counting_queries(live)  # the kept one answers "not today's"
    assert 'FROM "customers_customer"' in live_query
    standing.roll_forward(today=TODAY)
    assert page_of(credit_manager) == expected


def test_a_reassigned_customer_moves_to_the_new_collectors_kept_worklist(credit_manager, collector):
    customer = overdue_customer(collector, days_late=30, invoices=1)
    other = UserFactory(username="col2", role="collector")
    assert page_of(collector) == ([customer.pk], 1)
    assign_collector(customers=[customer], collector=other, actor=credit_manager)
    assert row_of(customer).collector == other
    assert (page_of(collector), page_of(other)) == (([], 0), ([customer.pk], 1))
    assert not standing.find_drift()


# --- The kept worth-it score's copy: the worklist's worth-it sort and filter ----------------------


def scores_on_standings() -> dict:
    return dict(Standing.objects.values_list("customer_id", "worth_it_score"))


def kept_scores() -> dict:
    from reports.models import WorthItScore

    return dict(WorthItScore.objects.values_list("customer_id", "score"))


def pay_in_full(customer, *, reference):
    target = customer.invoices.filter(status="open").order_by("pk").first()
    record_payment(
        customer=customer, reference=reference, received_on=TODAY, amount=target.amount,
        currency=target.currency, allocations=[AllocationRequest(target.number, target.amount)],
    )  # fmt: skip


def test_every_write_of_a_kept_worth_it_score_copies_it_onto_the_standing_in_its_transaction():
    customers = [
        overdue_customer(None, days_late=20 + n, amount=f"{100 * (n + 1)}.00", invoices=2, currency="EUR")
        for n in range(4)
    ]
    assert set(scores_on_standings().values()) == {None}  # nothing kept yet: nothing to copy
    rebuild_worth_it_scores(today=TODAY)
    assert scores_on_standings() == kept_scores() and len(kept_scores()) == 4
    with transaction.atomic():
        pay_in_full(customers[3], reference="P1")  # its revenue re-ranks the other EUR customers
        assert scores_on_standings() == kept_scores()  # already, inside the payment's transaction
    before = scores_on_standings()
    pay_in_full(customers[0], reference="P2")
    assert scores_on_standings() == kept_scores() != before
    assert not standing.find_drift()


def test_a_wrong_copy_of_the_score_is_drift_that_the_rebuild_repairs():
    customer = overdue_customer(None, days_late=30, invoices=1)
    pay_in_full(customer, reference="P1")
    rebuild_worth_it_scores(today=TODAY)
    Standing.objects.filter(customer=customer).update(worth_it_score=None)
    assert standing.find_drift().wrong == [customer.pk]
    with pytest.raises(CommandError, match="0 missing, 1 wrong"):
        call_command("rebuild_standings", "--check")
    call_command("rebuild_standings")
    assert scores_on_standings() == kept_scores() and not standing.find_drift()


def test_the_worth_it_sort_and_filter_read_the_standings_alone_and_equal_the_live_page(credit_manager):
    customers = [
        overdue_customer(None, days_late=20 + n, amount=f"{100 * (n + 1)}.00", invoices=2, currency="EUR")
        for n in range(6)
    ]
    for number, customer in enumerate(customers[:4]):
        pay_in_full(customer, reference=f"P{number}")
    rebuild_worth_it_scores(today=TODAY)
    from reports.models import WorthItScore

    unscored = overdue_customer(None, days_late=60, invoices=1)  # with no kept score: sorted last
    WorthItScore.objects.filter(customer=unscored).delete()
    standing.refresh_standings([unscored.pk], as_of=TODAY)
    assert row_of(unscored).worth_it_score is None
    scores = sorted(set(kept_scores().values()))
    for criteria in (
        {"sort": "worth_it"},
        {"sort": "worth_it", "min_worth_it": scores[1]},
        {"sort": "priority", "max_worth_it": scores[-2]},
    ):
        with CaptureQueriesContext(connection) as kept:
            found = page_of(credit_manager, criteria)
        [ids_query] = counting_queries(kept)
        assert 'FROM "calls_standing"' in ids_query and "reports_worthitscore" not in ids_query
        live = filter_worklist(worklist(user=credit_manager, today=TODAY, kept=False), criteria=criteria,
                               today=TODAY)  # fmt: skip
        assert found == ([customer.pk for customer in live], live.count()), criteria
    assert page_of(credit_manager, {"sort": "worth_it"})[0][-1] == unscored.pk
