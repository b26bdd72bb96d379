"""The daily run fanned out to Celery: every customer in exactly one batch, proposals once over all,
the agreements broken by the batches counted by the last task, and a same-day repeat that adds nothing.

The tasks run eagerly here (the chord too); tests/integration runs them on a real worker and Redis.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail

from dunning import services, tasks
from dunning.models import Proposal, Reminder
from invoices.services import allocate
from tests.factories import (
    AgreementFactory,
    CustomerFactory,
    InstalmentFactory,
    InvoiceFactory,
    PaymentFactory,
    SegmentFactory,
)

pytestmark = pytest.mark.django_db

DUE = dt.date(2026, 11, 2)
DAY = DUE + dt.timedelta(days=3)  # the +3 step for every invoice due on DUE


@pytest.fixture
def eager(settings):
    from creditdesk.celery import app

    settings.DUNNING_BATCH_SIZE = 3
    was, app.conf.task_always_eager = app.conf.task_always_eager, True
    yield app
    app.conf.task_always_eager = was


@pytest.fixture
def batches_seen(monkeypatch):
    """The customer ids of every batch the run hands to services.run_dunning_batch, in order."""
    seen: list[list[int]] = []
    original = services.run_dunning_batch

    def recording(**kwargs):
        seen.append(list(kwargs["customer_ids"]))
        return original(**kwargs)

    monkeypatch.setattr(services, "run_dunning_batch", recording)
    return seen


def owing_customers(count: int) -> list:
    customers = CustomerFactory.create_batch(count)
    for customer in customers:
        InvoiceFactory(customer=customer, due_date=DUE)
    return customers


def test_each_customer_with_something_to_do_is_in_exactly_one_batch(eager, batches_seen, standard_policy):
    owing = owing_customers(7)
    CustomerFactory.create_batch(3)  # no invoice: nothing to do, so in no batch
    not_yet_due = CustomerFactory()
    InvoiceFactory(customer=not_yet_due, due_date=DAY + dt.timedelta(days=30))
    settling = CustomerFactory()  # nothing due, but an active agreement to settle today
    AgreementFactory(customer=settling, made_on=DAY - dt.timedelta(days=5))
    outcome = tasks.run_dunning(DAY.isoformat())
    flat = [pk for batch in batches_seen for pk in batch]
    assert flat == sorted(c.pk for c in [*owing, settling])  # id order, none twice, nobody else
    assert [len(batch) for batch in batches_seen] == [3, 3, 2] and outcome["batches"] == 3
    assert sorted(Reminder.objects.values_list("customer_id", flat=True)) == sorted(c.pk for c in owing)
    assert len(mail.outbox) == 7  # each batch's deliveries queued as one task, delivered


def test_a_same_day_repeat_hands_no_customer_to_a_batch(eager, batches_seen, standard_policy):
    owing_customers(4)
    tasks.run_dunning(DAY.isoformat())
    batches_seen.clear()
    assert tasks.run_dunning(DAY.isoformat())["batches"] == 0 and batches_seen == []


def test_a_same_day_repeat_creates_and_sends_nothing(eager, standard_policy):
    owing_customers(5)
    late = late_payer()
    tasks.run_dunning(DAY.isoformat())
    made = (Reminder.objects.count(), Proposal.objects.count(), len(mail.outbox))
    assert made[0] == 6 and made[1] == 1 and Proposal.objects.get().customer == late
    tasks.run_dunning(DAY.isoformat())
    assert (Reminder.objects.count(), Proposal.objects.count(), len(mail.outbox)) == made


def late_payer(*, broken_agreements: int = 2):
    """A customer who pays 40 days late against a 20-day threshold and broke `broken_agreements`
    agreements this year: with two, both signals of the prepayment rule."""
    customer = CustomerFactory(segment=SegmentFactory(name="SME", lateness_threshold_days=20))
    invoice = InvoiceFactory(customer=customer, due_date=DUE, amount=Decimal("500.00"))
    paid_late(customer)
    for months in range(1, broken_agreements + 1):
        broken_agreement(customer, closed_days_ago=30 * months)
    assert invoice.pk
    return customer


def paid_late(customer) -> None:
    paid = InvoiceFactory(customer=customer, due_date=DUE - dt.timedelta(days=90))
    payment = PaymentFactory(customer=customer, received_on=paid.due_date + dt.timedelta(days=40))
    allocate(payment=payment, invoice=paid, amount=paid.amount)


def broken_agreement(customer, *, closed_days_ago: int) -> None:
    AgreementFactory(
        customer=customer,
        state="broken",
        made_on=DAY - dt.timedelta(days=closed_days_ago + 30),
        closed_on=DAY - dt.timedelta(days=closed_days_ago),
    )


def test_an_agreement_broken_by_a_batch_counts_for_the_proposals_of_the_same_run(eager, standard_policy):
    customer = late_payer(broken_agreements=1)
    active = AgreementFactory(customer=customer, made_on=DAY - dt.timedelta(days=40))
    InstalmentFactory(agreement=active, due_date=DAY - dt.timedelta(days=20))  # unpaid, past any grace
    tasks.run_dunning(DAY.isoformat())
    active.refresh_from_db()
    assert active.state == "broken"
    assert "broke 2 agreements" in Proposal.objects.get(customer=customer).reason


def test_proposals_over_every_customer_match_the_per_batch_rule(standard_policy):
    late = late_payer()
    late_payer(broken_agreements=1)  # one signal only: late, but kept all but one agreement
    punctual = CustomerFactory()
    invoice = InvoiceFactory(customer=punctual, due_date=DUE - dt.timedelta(days=90))
    payment = PaymentFactory(customer=punctual, received_on=invoice.due_date)
    allocate(payment=payment, invoice=invoice, amount=invoice.amount)
    on_prepayment = late_payer()
    on_prepayment.prepayment_only = True
    on_prepayment.save()
    assert services.propose_prepayment_everywhere(today=DAY) == 1
    assert Proposal.objects.get().customer == late
    assert services.propose_prepayment_everywhere(today=DAY) == 0  # an open proposal is not made again


def test_a_same_day_repeat_of_the_proposals_reads_no_lateness_and_the_next_day_refreshes(
    standard_policy, monkeypatch
):
    late = late_payer()
    late_payer(broken_agreements=1)
    read_for: list[list[int]] = []
    original = services.selectors.average_lateness

    def recording(customer_ids, *, today):
        read_for.append(sorted(customer_ids or []))
        return original(customer_ids, today=today)

    monkeypatch.setattr(services.selectors, "average_lateness", recording)
    assert services.propose_prepayment_everywhere(today=DAY) == 1
    assert read_for == [[late.pk]]  # the customer with one broken agreement is not even looked at
    read_for.clear()
    assert services.propose_prepayment_everywhere(today=DAY) == 0
    assert read_for == []  # proposed today, figures of today: nothing to read on a repeat
    next_day = DAY + dt.timedelta(days=1)
    assert services.propose_prepayment_everywhere(today=next_day) == 0
    assert read_for == [[late.pk]] and Proposal.objects.get().figures_on == next_day


def test_a_lately_dismissed_or_prepayment_only_customer_is_no_candidate(standard_policy):
    dismissed, on_prepayment, candidate = late_payer(), late_payer(), late_payer()
    Proposal.objects.create(
        customer=dismissed, kind="prepayment_only", state="dismissed", proposed_on=DAY, decided_on=DAY
    )
    on_prepayment.prepayment_only = True
    on_prepayment.save()
    found = services.selectors.prepayment_candidates(
        today=DAY, at_least=2, kind="prepayment_only", quiet_since=DAY - dt.timedelta(days=180)
    )
    assert found == {candidate.pk}
    later = services.selectors.prepayment_candidates(
        today=DAY, at_least=2, kind="prepayment_only", quiet_since=DAY + dt.timedelta(days=1)
    )
    assert later == {candidate.pk, dismissed.pk}


class LostARace(Exception):
    sqlstate = "40P01"  # what psycopg's DeadlockDetected carries


def test_a_batch_rolled_back_by_a_deadlock_runs_again(eager, standard_policy, monkeypatch):
    from django.db import OperationalError

    owing_customers(2)
    original, calls = services.run_dunning_batch, []

    def deadlocked_once(**kwargs):
        calls.append(kwargs["customer_ids"])
        if len(calls) == 1:
            raise OperationalError("deadlock detected") from LostARace()
        return original(**kwargs)

    monkeypatch.setattr(services, "run_dunning_batch", deadlocked_once)
    tasks.run_dunning(DAY.isoformat())
    assert len(calls) == 2 and calls[0] == calls[1]  # the same batch, again
    assert Reminder.objects.count() == 2


def test_any_other_database_error_fails_the_batch(eager, standard_policy, monkeypatch):
    from django.db import OperationalError

    owing_customers(1)

    def broken(**kwargs):
        raise OperationalError("server closed the connection")

    monkeypatch.setattr(services, "run_dunning_batch", broken)
    with pytest.raises(OperationalError):
        tasks.run_dunning(DAY.isoformat())


def test_the_proposals_are_made_chunk_by_chunk_in_tasks_of_their_own(eager, standard_policy, settings):
    from celery.signals import task_prerun

    settings.DUNNING_PROPOSAL_CHUNK = 2
    late = sorted(late_payer().pk for _ in range(3))
    ran: list[tuple[str, tuple]] = []

    def record(sender=None, args=(), **kwargs):
        ran.append((sender.name.rsplit(".", 1)[1], tuple(args)))

    task_prerun.connect(record, weak=False)
    try:
        assert tasks.propose_prepayment.apply(args=(DAY.isoformat(),)).get() == 3  # the chunks' sum
    finally:
        task_prerun.disconnect(record)
    chunks = [args[0] for name, args in ran if name == "propose_prepayment_chunk"]
    assert chunks == [late[:2], late[2:]] and ("total", ([2, 1],)) in ran
    assert sorted(Proposal.objects.values_list("customer_id", flat=True)) == late
    assert tasks.propose_prepayment.apply(args=(DAY.isoformat(),)).get() == 0  # a repeat makes none
