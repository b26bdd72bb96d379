"""The daily run against the database: reminders created once, skip rules, agreements, grouping."""

import datetime as dt
from decimal import Decimal

import pytest

from agreements.models import Agreement
from calls.models import Task
from dunning.models import Policy, Reminder, Step
from dunning.services import run_dunning_batch
from invoices.services import allocate
from reports.scores import rebuild_worth_it_scores
from tests.factories import (
    TODAY,
    AgreementFactory,
    ComplaintFactory,
    ContactFactory,
    CustomerFactory,
    InstalmentFactory,
    InvoiceFactory,
    PaymentFactory,
)

pytestmark = pytest.mark.django_db

DUE = dt.date(2026, 11, 23)


def run(customers, today):
    return run_dunning_batch(customer_ids=[c.pk for c in customers], today=today)


def days(n: int) -> dt.date:
    return DUE + dt.timedelta(days=n)


def test_moving_the_date_through_an_invoice_life_gives_exactly_four_reminders(standard_policy):
    customer = CustomerFactory()
    ContactFactory(customer=customer, name="Ada Lovelace")
    invoice = InvoiceFactory(customer=customer, due_date=DUE, amount=Decimal("1250.00"))
    for offset in range(-10, 61):
        run([customer], days(offset))
    reminders = list(Reminder.objects.filter(customer=customer).order_by("run_on"))
    assert [(r.run_on, r.channel, r.tone) for r in reminders] == [
        (days(-3), "email", "friendly"),
        (days(3), "email", "polite"),
        (days(7), "email", "firm"),
        (days(30), "letter", "final"),
    ]
    assert all(list(r.invoices.all()) == [invoice] for r in reminders)
    assert "Dear Ada Lovelace" in reminders[1].body and "EUR 1,250.00" in reminders[1].subject
    assert invoice.number in reminders[1].body


def test_running_any_day_twice_adds_nothing(standard_policy):
    customer = CustomerFactory()
    InvoiceFactory(customer=customer, due_date=DUE)
    for offset in (-3, 3, 7, 30):
        first = run([customer], days(offset))
        second = run([customer], days(offset))
        assert len(first.created_reminder_ids) == 1
        assert second.reminders == []
    assert Reminder.objects.count() == 4
    assert sum(r.lines.count() for r in Reminder.objects.all()) == 4


def test_a_customer_invoices_at_the_same_step_share_one_reminder_with_totals_per_currency(standard_policy):
    customer = CustomerFactory()
    euro = InvoiceFactory(customer=customer, due_date=DUE, amount=Decimal("100.00"))
    dollar = InvoiceFactory(customer=customer, due_date=days(-1), amount=Decimal("40.00"), currency="USD")
    older = InvoiceFactory(customer=customer, due_date=days(-5))
    result = run([customer], days(4))
    assert sorted((p.step.offset_days, len(p.lines)) for p in result.reminders) == [(3, 2), (7, 1)]
    polite = Reminder.objects.get(step__offset_days=3)
    assert set(polite.invoices.all()) == {euro, dollar}
    assert "EUR 100.00" in polite.subject and "USD 40.00" in polite.subject
    assert list(Reminder.objects.get(step__offset_days=7).invoices.all()) == [older]


def test_paid_cancelled_and_written_off_invoices_get_no_reminder(standard_policy):
    customer = CustomerFactory()
    paid = InvoiceFactory(customer=customer, due_date=DUE)
    allocate(payment=PaymentFactory(customer=customer), invoice=paid, amount=paid.amount)
    InvoiceFactory(customer=customer, due_date=DUE, status="cancelled")
    InvoiceFactory(customer=customer, due_date=DUE, status="written_off")
    assert run([customer], days(3)).reminders == []


def test_partly_paid_invoice_is_reminded_for_what_is_left(standard_policy):
    customer = CustomerFactory()
    invoice = InvoiceFactory(customer=customer, due_date=DUE, amount=Decimal("1000.00"))
    allocate(
        payment=PaymentFactory(customer=customer, amount=Decimal("400.00")),
        invoice=invoice,
        amount=Decimal("400.00"),
    )
    run([customer], days(3))
    assert Reminder.objects.get().lines.get().open_amount == Decimal("600.00")


def test_invoice_under_open_complaint_is_paused_until_resolved(standard_policy):
    customer = CustomerFactory()
    invoice = InvoiceFactory(customer=customer, due_date=DUE)
    complaint = ComplaintFactory(customer=customer, opened_on=days(1))
    complaint.invoices.add(invoice)
    assert run([customer], days(3)).reminders == []
    complaint.resolved_on, complaint.outcome = days(5), "rejected"
    complaint.save()
    assert [p.step.offset_days for p in run([customer], days(5)).reminders] == [3]


def test_disputed_invoice_gets_no_reminder(standard_policy):
    customer = CustomerFactory()
    InvoiceFactory(customer=customer, due_date=DUE, status="disputed")
    assert run([customer], days(3)).reminders == []


def test_invoice_covered_by_an_active_agreement_is_not_chased(standard_policy):
    customer = CustomerFactory()
    invoice = InvoiceFactory(customer=customer, due_date=DUE)
    agreement = AgreementFactory(customer=customer, made_on=days(1))
    InstalmentFactory(agreement=agreement, due_date=days(20), amount=invoice.amount)
    agreement.invoices.add(invoice)
    assert run([customer], days(3)).reminders == []


def test_paused_customer_resumes_at_the_step_it_reached(standard_policy):
    customer = CustomerFactory(dunning_paused_until=days(10))
    InvoiceFactory(customer=customer, due_date=DUE)
    for offset in range(-5, 12):
        run([customer], days(offset))
    assert [(r.run_on, r.step.offset_days) for r in Reminder.objects.all()] == [(days(10), 7)]


def test_broken_agreement_resumes_the_chase_where_it_stood(standard_policy, collector):
    customer = CustomerFactory(collector=collector)
    invoice = InvoiceFactory(customer=customer, due_date=DUE)
    run([customer], days(3))  # polite reminder sent
    agreement = AgreementFactory(customer=customer, made_on=days(5), grace_days=3)
    InstalmentFactory(agreement=agreement, sequence=1, due_date=days(12), amount=invoice.amount)
    agreement.invoices.add(invoice)
    for offset in range(5, 16):
        run([customer], days(offset))
    agreement.refresh_from_db()
    assert agreement.state == "active"  # still within grace on day +15
    result = run([customer], days(16))
    agreement.refresh_from_db()
    assert agreement.state == "broken" and agreement.closed_on == days(16)
    assert "broken, instalment #1" in agreement.notes
    # The chase resumes at the step the invoice is at now (+7), not from the start nor every missed step.
    assert [p.step.offset_days for p in result.reminders] == [7]
    task = Task.objects.get(customer=customer, kind="broken_agreement")
    assert task.assigned_to == collector and task.due_on == days(16) and "not paid" in task.reason
    run([customer], days(16))
    assert Task.objects.filter(kind="broken_agreement").count() == 1
    assert [r.step.offset_days for r in Reminder.objects.order_by("run_on")] == [3, 7]


def test_agreement_whose_instalments_are_paid_is_kept_and_stops_nothing_else(standard_policy):
    customer = CustomerFactory()
    invoice = InvoiceFactory(customer=customer, due_date=DUE, amount=Decimal("900.00"))
    agreement = AgreementFactory(
        customer=customer, kind="plan", made_on=days(2), total_amount=Decimal("900.00")
    )
    InstalmentFactory(agreement=agreement, sequence=1, due_date=days(10), amount=Decimal("450.00"))
    InstalmentFactory(agreement=agreement, sequence=2, due_date=days(20), amount=Decimal("450.00"))
    agreement.invoices.add(invoice)
    first = PaymentFactory(customer=customer, amount=Decimal("450.00"), received_on=days(9))
    allocate(payment=first, invoice=invoice, amount=Decimal("450.00"))
    run([customer], days(12))
    assert list(agreement.instalments.values_list("state", flat=True)) == ["paid", "pending"]
    second = PaymentFactory(customer=customer, amount=Decimal("450.00"), received_on=days(19))
    allocate(payment=second, invoice=invoice, amount=Decimal("450.00"))
    result = run([customer], days(21))
    agreement.refresh_from_db()
    assert agreement.state == "kept" and agreement.closed_on == days(21)
    assert [i.settled_on for i in agreement.instalments.all()] == [days(9), days(19)]
    assert result.kept == [agreement] and Reminder.objects.count() == 0


def test_promise_without_invoices_counts_the_customer_payments_in_its_currency(standard_policy):
    customer = CustomerFactory()
    agreement = AgreementFactory(customer=customer, made_on=days(0), total_amount=Decimal("300.00"))
    InstalmentFactory(agreement=agreement, due_date=days(5), amount=Decimal("300.00"))
    PaymentFactory(customer=customer, amount=Decimal("300.00"), received_on=days(4))
    run([customer], days(6))
    assert Agreement.objects.get().state == "kept"


def test_segment_policy_is_used_instead_of_the_default(standard_policy):
    customer = CustomerFactory()
    policy = Policy.objects.create(name="Key accounts", segment=customer.segment)
    Step.objects.create(
        policy=policy,
        offset_days=10,
        channel="call_task",
        tone="polite",
        subject_template="Call",
        body_template="x",
    )
    InvoiceFactory(customer=customer, due_date=DUE)
    assert run([customer], days(3)).reminders == []
    assert [(p.step.policy.name, p.step.channel) for p in run([customer], days(10)).reminders] == [
        ("Key accounts", "call_task")
    ]


@pytest.mark.parametrize("size", [3, 30])
def test_a_batch_costs_the_same_number_of_queries_whatever_its_size(
    standard_policy, size, django_assert_max_num_queries
):
    customers = CustomerFactory.create_batch(size)
    for customer in customers:
        ContactFactory(customer=customer)
        InvoiceFactory.create_batch(2, customer=customer, due_date=DUE)
        InvoiceFactory(customer=customer, due_date=days(3))
        agreement = AgreementFactory(customer=customer, made_on=days(-2))
        InstalmentFactory(agreement=agreement, due_date=days(10))
        PaymentFactory(customer=customer, received_on=days(-40))  # counts toward average lateness
    rebuild_worth_it_scores(today=TODAY)
    # 25 for the run (one reads the customers' segments, one the batch's open proposals, whose stake
    # each run brings up to date, one the invoices reported already paid), 6 for the worth-it refresh
    # of the reminded customers (reports/scores.py; the sixth reads the standings' copies of the scores,
    # to rewrite those that differ), 2 marking the channel months and days from the run's day stale
    # (reports/channels.py).
    with django_assert_max_num_queries(25 + 6 + 2):
        result = run(customers, days(7))
    assert len(result.created_reminder_ids) == size * 2


@pytest.mark.parametrize("broken", [3, 12])
def test_the_tasks_of_broken_agreements_cost_the_same_queries_however_many(
    standard_policy, broken, django_assert_max_num_queries
):
    customers = CustomerFactory.create_batch(broken)
    for customer in customers:
        agreement = AgreementFactory(customer=customer, made_on=days(-2))
        InstalmentFactory(agreement=agreement, due_date=days(-1))
    # 19: the run, with the reads of the batch's open proposals and of its customers' segments; one
    # INSERT of the audit entries for all the agreements; their standings restated once (4); the
    # reports' early warnings, refreshed once for all (7 reads, the read of who was flagged before, so
    # a flag that comes or goes restates the worklist day, and a delete in a savepoint: 11); the
    # tasks, all at once (calls.services.create_tasks): the read of their keys, a savepoint, the
    # insert, the read back, its release, and the worklist standing they change, restated once (4);
    # the backtest's kept forecasts from the day of the change on, deleted at once (1); the forecast
    # spreads of the customers re-kept at once (4: whether the kept bins are of the day, the session's
    # work memory, the spreading statement, the delete of the rows not rewritten).
    with django_assert_max_num_queries(19 + 4 + 11 + 5 + 4 + 1 + 4):
        result = run(customers, days(7))
    assert len(result.broken) == broken
    assert Task.objects.filter(kind="broken_agreement").count() == broken
    again = run_dunning_batch(customer_ids=[c.pk for c in customers], today=days(7))
    assert not again.broken and Task.objects.filter(kind="broken_agreement").count() == broken


def test_the_migration_creates_the_standard_default_policy_with_four_steps():
    policy = Policy.objects.get(is_default=True)
    assert policy.name == "Standard"
    steps = [(s.offset_days, s.channel, s.tone, s.action) for s in policy.steps.order_by("offset_days")]
    assert steps == [
        (-3, "email", "friendly", ""),
        (3, "email", "polite", ""),
        (7, "email", "firm", "call_task"),
        (30, "letter", "final", "credit_hold"),
    ]
