"""Once bitten, twice shy: prepayment-only proposals, and a credit manager's decision."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from dunning import services
from dunning.models import Proposal
from dunning.services import decide_proposal, run_dunning_batch
from invoices.services import allocate
from tests.factories import (
    AgreementFactory,
    CustomerFactory,
    InvoiceFactory,
    PaymentFactory,
    ProposalFactory,
    SegmentFactory,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 23)


def run(customer, today=TODAY):
    return run_dunning_batch(customer_ids=[customer.pk], today=today)


def break_agreement(customer, closed_on):
    AgreementFactory(
        customer=customer, state="broken", made_on=closed_on - dt.timedelta(days=20), closed_on=closed_on
    )


def pays_late(customer, days_late):
    """One invoice paid `days_late` days after its due date, ten days ago."""
    invoice = InvoiceFactory(customer=customer, due_date=TODAY - dt.timedelta(days=days_late + 10))
    payment = PaymentFactory(customer=customer, received_on=invoice.due_date + dt.timedelta(days=days_late))
    allocate(payment=payment, invoice=invoice, amount=Decimal("1000.00"))


def test_two_broken_agreements_and_late_payment_propose_prepayment_only(standard_policy):
    customer = CustomerFactory()
    pays_late(customer, 45)
    break_agreement(customer, TODAY - dt.timedelta(days=300))
    assert run(customer).proposals == []
    break_agreement(customer, TODAY - dt.timedelta(days=10))
    run(customer)
    proposal = Proposal.objects.get(customer=customer)
    assert proposal.kind == "prepayment_only"
    assert "broke 2 agreements" in proposal.reason and "pays 45 days late on average" in proposal.reason
    run(customer, TODAY + dt.timedelta(days=1))
    assert Proposal.objects.filter(customer=customer).count() == 1  # one open proposal at a time


def test_either_signal_alone_no_longer_proposes(standard_policy):
    promise_breaker, late_payer = CustomerFactory(), CustomerFactory()
    break_agreement(promise_breaker, TODAY - dt.timedelta(days=30))
    break_agreement(promise_breaker, TODAY - dt.timedelta(days=10))
    pays_late(late_payer, 90)
    assert run_dunning_batch(customer_ids=[promise_breaker.pk, late_payer.pk], today=TODAY).proposals == []


def test_the_old_either_rule_can_be_restored(standard_policy, monkeypatch):
    monkeypatch.setattr(services, "REQUIRE_BOTH_SIGNALS", False)
    promise_breaker, late_payer = CustomerFactory(), CustomerFactory()
    break_agreement(promise_breaker, TODAY - dt.timedelta(days=30))
    break_agreement(promise_breaker, TODAY - dt.timedelta(days=10))
    pays_late(late_payer, 90)
    run_dunning_batch(customer_ids=[promise_breaker.pk, late_payer.pk], today=TODAY)
    assert set(Proposal.objects.values_list("customer", flat=True)) == {promise_breaker.pk, late_payer.pk}


def test_broken_agreements_older_than_a_year_do_not_count(standard_policy):
    customer = CustomerFactory()
    pays_late(customer, 90)
    break_agreement(customer, TODAY - dt.timedelta(days=400))
    break_agreement(customer, TODAY - dt.timedelta(days=380))
    assert run(customer).proposals == []


def test_average_lateness_is_measured_against_the_segment_threshold(standard_policy):
    segment = SegmentFactory(name="SME", lateness_threshold_days=20)
    late, punctual = CustomerFactory(segment=segment), CustomerFactory(segment=segment)
    for customer, days_late in ((late, 35), (punctual, 2)):
        pays_late(customer, days_late)
        break_agreement(customer, TODAY - dt.timedelta(days=30))
        break_agreement(customer, TODAY - dt.timedelta(days=10))
    run_dunning_batch(customer_ids=[late.pk, punctual.pk], today=TODAY)
    proposal = Proposal.objects.get()
    assert (
        proposal.customer == late and "pays 35 days late on average (segment threshold 20)" in proposal.reason
    )


def test_a_dismissed_proposal_is_not_made_again_for_half_a_year(standard_policy, credit_manager):
    customer = CustomerFactory()
    pays_late(customer, 45)
    break_agreement(customer, TODAY - dt.timedelta(days=30))
    break_agreement(customer, TODAY - dt.timedelta(days=10))
    run(customer)
    decide_proposal(proposal=Proposal.objects.get(), confirm=False, user=credit_manager, today=TODAY)
    run(customer, TODAY + dt.timedelta(days=1))
    assert Proposal.objects.count() == 1


def test_confirming_puts_the_customer_on_prepayment_only_and_a_second_decision_is_refused(credit_manager):
    proposal = ProposalFactory()
    decide_proposal(proposal=proposal, confirm=True, user=credit_manager, today=TODAY)
    proposal.customer.refresh_from_db()
    assert proposal.customer.prepayment_only is True
    with pytest.raises(ValidationError, match="already confirmed"):
        decide_proposal(proposal=proposal, confirm=False, user=credit_manager, today=TODAY)


def test_credit_manager_confirms_a_credit_hold_on_the_proposals_page(client, credit_manager):
    proposal = ProposalFactory(kind="credit_hold", reason="Final notice sent")
    ProposalFactory.create_batch(3)
    client.force_login(credit_manager)
    page = client.get(reverse("dunning:proposal-list"))
    assert proposal.customer.name in page.text and "Final notice sent" in page.text
    response = client.post(
        reverse("dunning:proposal-decide", args=[proposal.pk]), {"decision": "confirm"}, follow=True
    )
    assert f"Credit hold for {proposal.customer.name} confirmed." in response.text
    proposal.customer.refresh_from_db()
    assert proposal.customer.credit_hold is True


def test_proposals_page_query_count_does_not_grow_with_proposals(
    client, credit_manager, django_assert_max_num_queries
):
    ProposalFactory.create_batch(15)
    ProposalFactory.create_batch(5, state="dismissed", decided_on=TODAY, decided_by=credit_manager)
    client.force_login(credit_manager)
    with django_assert_max_num_queries(9):
        assert client.get(reverse("dunning:proposal-list")).status_code == 200


def test_collectors_cannot_decide_proposals(client, collector):
    proposal = ProposalFactory()
    client.force_login(collector)
    assert client.get(reverse("dunning:proposal-list")).status_code == 403
    assert (
        client.post(
            reverse("dunning:proposal-decide", args=[proposal.pk]), {"decision": "confirm"}
        ).status_code
        == 403
    )
