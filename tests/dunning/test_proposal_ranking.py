"""The proposals queue, most pressing first: each proposal keeps what is at stake, the daily run keeps
it current, and the page shows the queue a page at a time at a fixed number of queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dunning.models import Proposal
from dunning.ranking import Stake
from dunning.services import propose_credit_hold, run_dunning_batch
from invoices.services import allocate
from tests.factories import (
    TODAY,
    AgreementFactory,
    CustomerFactory,
    InvoiceFactory,
    PaymentFactory,
    ProposalFactory,
)

pytestmark = pytest.mark.django_db


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def once_bitten(customer, *, broken: int = 2, days_late: int = 45) -> None:
    """Broke `broken` agreements lately and paid an invoice `days_late` days late: proposed."""
    for number in range(broken):
        AgreementFactory(
            customer=customer, state="broken", made_on=days_ago(40 + number), closed_on=days_ago(10)
        )
    invoice = InvoiceFactory(customer=customer, due_date=days_ago(days_late + 10))
    payment = PaymentFactory(customer=customer, received_on=days_ago(10))
    allocate(payment=payment, invoice=invoice, amount=invoice.amount)


@pytest.mark.parametrize(
    "stake, points",
    [
        (Stake(), 0),
        (
            Stake(overdue_amount=Decimal("500"), open_amount=Decimal("500"), oldest_due_date=days_ago(5)),
            50 + 25,
        ),
        (
            Stake(
                overdue_amount=Decimal("60000"), open_amount=Decimal("75000"), oldest_due_date=days_ago(95)
            ),
            400 + 50 + 200,
        ),
        (Stake(broken_agreements=3), 225),
        (Stake(broken_agreements=9), 300),
        (Stake(average_days_late=Decimal("31"), lateness_threshold_days=30), 60),
        (Stake(average_days_late=Decimal("60"), lateness_threshold_days=30), 120),
        (Stake(average_days_late=Decimal("95"), lateness_threshold_days=30), 200),
        (Stake(average_days_late=Decimal("30"), lateness_threshold_days=30), 0),
    ],
)
def test_stake_points_add_up_each_input(stake, points):
    assert stake.points(TODAY) == points


def test_a_proposal_keeps_what_is_at_stake(standard_policy):
    customer = CustomerFactory()
    once_bitten(customer, broken=3, days_late=45)
    InvoiceFactory(customer=customer, amount=Decimal("12000.00"), due_date=days_ago(40))
    InvoiceFactory(customer=customer, amount=Decimal("2000.00"), due_date=TODAY + dt.timedelta(days=5))
    InvoiceFactory(customer=customer, amount=Decimal("9999.00"), due_date=days_ago(40), currency="USD")
    run_dunning_batch(customer_ids=[customer.pk], today=TODAY)
    proposal = Proposal.objects.get()
    assert (proposal.currency, proposal.overdue_amount, proposal.open_amount) == (
        customer.currency,
        Decimal("12000.00"),
        Decimal("14000.00"),
    )  # the USD invoice is not added to the EUR figures
    assert proposal.oldest_due_date == days_ago(40) and proposal.broken_agreements == 3
    assert proposal.average_days_late == Decimal("45.0") and proposal.figures_on == TODAY
    assert proposal.stake == 300 + 25 + 225 + 100 + 60


def test_the_daily_run_brings_open_proposals_up_to_date_and_a_repeat_writes_nothing(standard_policy):
    customer = CustomerFactory()
    once_bitten(customer)
    invoice = InvoiceFactory(customer=customer, amount=Decimal("20000.00"), due_date=days_ago(40))
    run_dunning_batch(customer_ids=[customer.pk], today=TODAY)
    before = Proposal.objects.get().stake
    allocate(
        payment=PaymentFactory(customer=customer, amount=invoice.amount),
        invoice=invoice,
        amount=invoice.amount,
    )
    tomorrow = TODAY + dt.timedelta(days=1)
    run_dunning_batch(customer_ids=[customer.pk], today=tomorrow)
    proposal = Proposal.objects.get()
    assert proposal.overdue_amount == 0 and proposal.stake < before and proposal.figures_on == tomorrow
    with CaptureQueriesContext(connection) as context:
        run_dunning_batch(customer_ids=[customer.pk], today=tomorrow)
    assert not [
        q for q in context.captured_queries if q["sql"].startswith("UPDATE") and "proposal" in q["sql"]
    ]


def test_a_credit_hold_proposal_carries_its_stake_too():
    customer = CustomerFactory()
    InvoiceFactory(customer=customer, amount=Decimal("15000.00"), due_date=days_ago(70))
    proposal = propose_credit_hold(customer=customer, reason="Final notice sent", today=TODAY)
    assert proposal.overdue_amount == Decimal("15000.00") and proposal.stake == 300 + 150


def rows_of(response) -> list[int]:
    """The proposals of the open-proposals table, by id (customer names may repeat), in the page's
    order."""
    return [proposal.pk for proposal in response.context["proposals"]]


def test_the_page_lists_the_most_pressing_first(client, credit_manager):
    small = ProposalFactory(stake=100, oldest_due_date=days_ago(10))
    big = ProposalFactory(stake=700, oldest_due_date=days_ago(10))
    older_tie = ProposalFactory(stake=400, oldest_due_date=days_ago(90))
    newer_tie = ProposalFactory(stake=400, oldest_due_date=days_ago(20))
    no_overdue_tie = ProposalFactory(stake=400, oldest_due_date=None)
    ProposalFactory(stake=999, state="dismissed", decided_on=TODAY, decided_by=credit_manager)
    client.force_login(credit_manager)
    response = client.get(reverse("dunning:proposal-list"))
    expected = [big, older_tie, newer_tie, no_overdue_tie, small]
    assert rows_of(response) == [proposal.pk for proposal in expected]


def test_the_queue_pages_without_losing_or_repeating_a_proposal(client, credit_manager):
    ProposalFactory.create_batch(settings.CREDITDESK_PAGE_SIZE + 5, stake=300)
    top = ProposalFactory(stake=900)
    bottom = ProposalFactory(stake=10)
    client.force_login(credit_manager)
    first = client.get(reverse("dunning:proposal-list"))
    second = client.get(reverse("dunning:proposal-list"), {"page": 2})
    assert len(rows_of(first)) == settings.CREDITDESK_PAGE_SIZE and len(rows_of(second)) == 7
    assert rows_of(first)[0] == top.pk and rows_of(second)[-1] == bottom.pk
    assert set(rows_of(first)).isdisjoint(rows_of(second))
    assert f"{settings.CREDITDESK_PAGE_SIZE + 7} in all" in second.text


def test_a_page_of_the_queue_costs_the_same_queries_however_long_the_queue(client, credit_manager):
    client.force_login(credit_manager)
    ProposalFactory.create_batch(5)

    def queries(page: int) -> int:
        with CaptureQueriesContext(connection) as context:
            assert client.get(reverse("dunning:proposal-list"), {"page": page}).status_code == 200
        return len(context.captured_queries)

    short = queries(1)
    ProposalFactory.create_batch(3 * settings.CREDITDESK_PAGE_SIZE)
    assert queries(1) == queries(3) == short


def test_deciding_returns_to_the_same_page_of_the_queue(client, credit_manager):
    ProposalFactory.create_batch(settings.CREDITDESK_PAGE_SIZE + 1)
    proposal = Proposal.objects.order_by("id").last()
    client.force_login(credit_manager)
    back = f"{reverse('dunning:proposal-list')}?page=2"
    response = client.post(
        reverse("dunning:proposal-decide", args=[proposal.pk]), {"decision": "dismiss", "next": back}
    )
    assert response.status_code == 302 and response.url == back
