"""The run's SQL pre-filter (selectors.customers_with_a_step_due) never leaves out a customer the
engine would remind: checked day by day over a month of a varied ledger, against what the engine,
run over every customer, actually creates."""

import datetime as dt

import pytest

from dunning import selectors, services
from dunning.models import Policy, Reminder, Step
from tests.factories import ComplaintFactory, CustomerFactory, InvoiceFactory, SegmentFactory

pytestmark = pytest.mark.django_db

DUE = dt.date(2026, 11, 2)  # a Monday


@pytest.fixture
def ledger(standard_policy):
    """Customers on the default policy and on a segment's own (other offsets, business days only),
    with invoices due on several days, one paused and one with the invoice under complaint."""
    strict = SegmentFactory(name="Strict")
    policy = Policy.objects.create(name="Strict", segment=strict, business_days_only=True)
    for offset in (1, 10, 20):
        template = Step.objects.filter(policy=standard_policy).first()
        Step.objects.create(
            policy=policy, offset_days=offset, channel=template.channel, tone=template.tone,
            subject_template=template.subject_template, body_template=template.body_template,
        )  # fmt: skip
    customers = []
    for shift in (-4, 0, 5, 12, 33):
        for segment in (None, strict):
            customer = CustomerFactory(segment=segment)
            InvoiceFactory(customer=customer, due_date=DUE + dt.timedelta(days=shift))
            InvoiceFactory(customer=customer, due_date=DUE - dt.timedelta(days=shift))
            customers.append(customer)
    paused = CustomerFactory(dunning_paused_until=DUE + dt.timedelta(days=10))
    InvoiceFactory(customer=paused, due_date=DUE)
    disputed = CustomerFactory()
    complaint = ComplaintFactory(customer=disputed, opened_on=DUE)
    complaint.invoices.add(InvoiceFactory(customer=disputed, due_date=DUE))
    return [*customers, paused, disputed]


def test_the_prefilter_lists_every_customer_the_engine_reminds_each_day(ledger):
    everyone = sorted(customer.pk for customer in ledger)
    reminded_on_some_day = 0
    for days in range(-6, 40):
        today = DUE + dt.timedelta(days=days)
        book = selectors.policy_book()
        listed = set(selectors.customers_with_a_step_due(book, today=today))
        services.run_dunning_batch(customer_ids=everyone, today=today, book=book, propose=False)
        reminded = set(Reminder.objects.filter(run_on=today).values_list("customer_id", flat=True))
        assert reminded <= listed, today
        # After the run, nothing the engine would send today is left: the filter lists nobody
        # but the customers the engine holds back (paused, disputed, weekend).
        assert not set(selectors.customers_with_a_step_due(book, today=today)) & reminded
        reminded_on_some_day += bool(reminded)
    assert reminded_on_some_day >= 8  # the month really exercised the ladder
