"""Pages cost the same number of queries with 10 customers as with 200 (no N+1)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agreements.services import InstalmentTerms
from calls.models import ComplaintAttachment
from calls.selectors import start_of
from calls.services import propose_plan
from customers.access import SYSTEM
from customers.services import mint_portal_link, submit_contact_change
from reports.scores import rebuild_worth_it_scores
from tests.calls.scenes import broken_promise_customer, overdue_customer
from tests.factories import (
    TODAY,
    ComplaintFactory,
    ContactFactory,
    ExcuseFactory,
    InteractionFactory,
    PaymentFactory,
    ReminderFactory,
    SegmentFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MAX_QUERIES = {
    # session, user and roles 3; the worklist 3 (ids and count, the page's rows with their kept
    # worth-it scores, amounts per currency); the worth-it weights 1; the filter form's segments 1.
    "calls:worklist": 8,
    "calls:customer-list": 10,
    "invoices:invoice-list": 10,
    "agreements:agreement-list": 10,
    "calls:complaint-list": 10,
    "dunning:reminder-list": 10,
}


@pytest.fixture(autouse=True)
def fixed_day(settings):
    settings.CREDITDESK_TODAY = TODAY


def build_ledger(count: int, collector):
    """`count` customers of every kind the pages show, all in the collector's portfolio."""
    customers = []
    for number in range(count):
        if number % 4 == 0:
            customer = broken_promise_customer(collector)
        else:
            customer = overdue_customer(collector, invoices=2)
        if number % 3 == 0:
            TaskFactory(customer=customer, reason="Call task from step +7 days")
            complaint = ComplaintFactory(customer=customer)
            complaint.invoices.set(customer.invoices.all()[:1])
            ReminderFactory(customer=customer).invoices.set(
                customer.invoices.all(), through_defaults={"open_amount": 1}
            )
        customers.append(customer)
    return customers


def queries_for(client, url) -> int:
    """Queries of a page in steady state: the worth-it scores kept (as the nightly task keeps them),
    and a first request made to warm anything else kept."""
    rebuild_worth_it_scores(today=TODAY)
    client.get(url)
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


def with_portal_answers(customer) -> None:
    """What a customer sends through the portal, pending on the customer page: a proposed plan, a
    new contact, a dispute file, and the live link they came through."""
    invoices = list(customer.invoices.all()[:1])
    mint_portal_link(customer=customer)
    propose_plan(
        customer=customer, invoices=invoices, actor=SYSTEM, today=TODAY,
        instalments=[InstalmentTerms(TODAY + dt.timedelta(days=d), Decimal("50")) for d in (7, 14)],
    )  # fmt: skip
    submit_contact_change(customer=customer, actor=SYSTEM, today=TODAY, name="Nico", email="n@acme.example")
    complaint = ComplaintFactory(customer=customer)
    ComplaintAttachment.objects.create(
        complaint=complaint,
        file="complaints/x.pdf",
        original_name="x.pdf",
        content_type="application/pdf",
        size=1,
    )


def test_list_pages_cost_the_same_queries_for_10_and_200_customers(client, collector):
    """Every list page on one ledger grown from 10 to 200 customers (built once: a minute on
    PostgreSQL), each page's count reported by name."""
    client.force_login(collector)
    build_ledger(10, collector)
    small = {name: queries_for(client, reverse(name)) for name in MAX_QUERIES}
    build_ledger(190, collector)
    large = {name: queries_for(client, reverse(name)) for name in MAX_QUERIES}
    assert small == large
    assert {name: count for name, count in large.items() if count > MAX_QUERIES[name]} == {}


def test_a_credit_managers_worklist_costs_8_queries_with_any_filter_and_offers_a_new_collector(
    client, collector, credit_manager
):
    """The manager's page adds the collectors (filter and assign box) to the collector's, in the same
    query as the segments; choosing a segment or collector reads nothing more. A collector added after
    the first request is offered at once (nothing kept between requests)."""
    client.force_login(credit_manager)
    build_ledger(5, collector)
    segment = SegmentFactory(name="Key accounts")
    worklist = reverse("calls:worklist")
    for query in (
        "",
        f"?segment={segment.pk}&sort=amount",
        f"?collector={collector.pk}&sort=days",
        "?segment=x",
    ):
        assert queries_for(client, worklist + query) <= 8
    newcomer = UserFactory(username="newcomer", first_name="Nadia", last_name="Ng", role="collector")
    html = client.get(worklist).content.decode()
    assert f'<option value="{newcomer.pk}">newcomer</option>' in html  # the filter, by username
    assert f'<option value="{newcomer.pk}">Nadia Ng</option>' in html  # the assign box, by name
    chosen = client.get(worklist, {"collector": newcomer.pk}).content.decode()
    assert f'<option value="{newcomer.pk}" selected>newcomer</option>' in chosen


def test_customer_page_costs_the_same_queries_with_a_short_or_long_history(client, collector):
    client.force_login(collector)
    [customer] = build_ledger(1, collector)
    url = reverse("calls:customer-detail", args=[customer.pk])
    InteractionFactory(customer=customer, outcome="excuse")  # one of each: prefetches run either way
    PaymentFactory(customer=customer)
    short = queries_for(client, url)
    for days_ago in range(40):
        InteractionFactory(customer=customer, outcome="excuse")
        ExcuseFactory(customer=customer, given_on=TODAY - dt.timedelta(days=days_ago))
        PaymentFactory(customer=customer, received_on=TODAY - dt.timedelta(days=days_ago))
    overdue_customer(collector)  # other customers do not change it either
    long = queries_for(client, url)
    # session, user and roles 3; the customer 1; its open invoices, the position summed from them 1;
    # contacts 1; kept worth-it score and weights 2; agreements with instalments and invoices 3;
    # repeated excuses 1; kept early warning 1; the portal box 1 (its lists only when it has some);
    # the timeline's keys 1 and the rows of the sources shown (at most 13): 10 here. The long
    # history's first page shows fewer kinds of event than the short one's, so it costs no more.
    assert long <= short <= 25


def test_a_credit_managers_customer_page_with_every_section_filled_costs_at_most_30_queries(
    client, collector, credit_manager, django_assert_max_num_queries
):
    """The fullest page a manager opens: a long history whose first page shows seven of the eight
    kinds of event, pending portal answers, a dispute file, a live link and the audit trail's latest
    changes. 30: the 14 every page costs (see above); the timeline's keys 1 and the rows shown 10
    (calls 3, payments 1, reminders 2, excuses 1, complaints 2, agreements 1); the portal's three
    lists and the plan's invoices 4; the audit trail 1."""
    client.force_login(credit_manager)
    [customer] = build_ledger(1, collector)
    for days_ago in range(60):
        day = TODAY - dt.timedelta(days=days_ago)
        InteractionFactory(
            customer=customer, outcome="excuse", occurred_at=start_of(day) + dt.timedelta(hours=9)
        )
        ExcuseFactory(customer=customer, given_on=day)
        PaymentFactory(customer=customer, received_on=day)
    with_portal_answers(customer)
    rebuild_worth_it_scores(today=TODAY)  # kept, as the nightly task keeps them
    url = reverse("calls:customer-detail", args=[customer.pk])
    client.get(url)
    with django_assert_max_num_queries(30):
        response = client.get(url)
    html = response.content.decode()
    assert html.count('<li class="entry') == 50
    assert 'data-testid="portal-box"' in html and "Proposed plan" in html and "New contact" in html
    assert 'data-testid="changes"' in html


def test_the_customer_page_reads_the_contacts_once_for_the_list_and_the_call_form(client, collector):
    client.force_login(collector)
    customer = overdue_customer(collector, invoices=1, name="Acme")
    ContactFactory(customer=customer, name="Zoe Second", is_primary=False)  # the scene's AP is primary
    url = reverse("calls:customer-detail", args=[customer.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as context:
        html = client.get(url).content.decode()
    contact_reads = [q["sql"] for q in context.captured_queries if 'FROM "customers_contact"' in q["sql"]]
    assert len(contact_reads) == 1
    # The call form still offers every contact, primary first, after its empty choice.
    form_options = html.split('name="contact"', 1)[1].split("</select>", 1)[0]
    positions = [form_options.index(label) for label in ("(nobody named)", "AP of Acme", "Zoe Second")]
    assert positions == sorted(positions)
