"""dunning.selectors: the reminders still to deliver, a customer's reminders for the timeline, and
the open proposals a user may see, most pressing first."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dunning.choices import DeliveryStatus, ProposalState
from dunning.models import ReminderInvoice
from dunning.selectors import open_proposals, reminders_for_timeline, reminders_to_deliver
from tests.factories import TODAY, CustomerFactory, InvoiceFactory, ProposalFactory, ReminderFactory

pytestmark = pytest.mark.django_db


def test_reminders_to_deliver_are_the_pending_ones_up_to_today_oldest_first():
    first = ReminderFactory(run_on=TODAY - dt.timedelta(days=2))
    second = ReminderFactory(run_on=TODAY)
    ReminderFactory(run_on=TODAY + dt.timedelta(days=1))  # a later run's: not yet
    ReminderFactory(run_on=TODAY, status=DeliveryStatus.SENT)
    ReminderFactory(run_on=TODAY, status=DeliveryStatus.FAILED)
    assert reminders_to_deliver(today=TODAY) == [first.pk, second.pk]
    assert reminders_to_deliver(today=TODAY - dt.timedelta(days=1)) == [first.pk]


def test_reminders_for_timeline_are_the_customer_s_own_with_their_invoices_newest_first_in_two_queries():
    customer = CustomerFactory()
    reminder = ReminderFactory(customer=customer)
    earlier = ReminderFactory(customer=customer, run_on=TODAY - dt.timedelta(days=7))
    invoices = InvoiceFactory.create_batch(2, customer=customer)
    for invoice in invoices:
        ReminderInvoice.objects.create(reminder=reminder, invoice=invoice, open_amount=invoice.amount)
    ReminderFactory()  # another customer's
    with CaptureQueriesContext(connection) as queries:
        shown = list(reminders_for_timeline(customer=customer))
        listed = [{invoice.pk for invoice in shown_reminder.invoices.all()} for shown_reminder in shown]
    assert [r.pk for r in shown] == [reminder.pk, earlier.pk]  # newest first
    assert listed == [{invoice.pk for invoice in invoices}, set()]
    assert len(queries) == 2  # the reminders, then their invoices prefetched


def test_open_proposals_are_scoped_to_a_collector_s_portfolio(collector, credit_manager):
    mine = ProposalFactory(customer=CustomerFactory(collector=collector))
    theirs = ProposalFactory()
    assert list(open_proposals(user=collector)) == [mine]
    assert set(open_proposals(user=credit_manager)) == {mine, theirs}


def test_open_proposals_leave_out_decided_ones_and_rank_the_most_pressing_first(credit_manager):
    low = ProposalFactory(stake=100, oldest_due_date=TODAY - dt.timedelta(days=10))
    high = ProposalFactory(stake=900, overdue_amount=Decimal("5000.00"))
    older_due = ProposalFactory(stake=100, oldest_due_date=TODAY - dt.timedelta(days=40))
    no_due = ProposalFactory(stake=100, oldest_due_date=None)
    ProposalFactory(stake=999, state=ProposalState.CONFIRMED, decided_on=TODAY)
    ProposalFactory(stake=999, state=ProposalState.DISMISSED, decided_on=TODAY)
    assert list(open_proposals(user=credit_manager)) == [high, older_due, low, no_due]
