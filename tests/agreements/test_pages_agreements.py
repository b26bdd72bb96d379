"""The agreement list page (agreements/views.py): scoped to the portfolio, filtered, paged."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import TODAY, AgreementFactory, CustomerFactory, InstalmentFactory

pytestmark = pytest.mark.django_db


def test_a_collector_sees_their_portfolio_s_agreements_filtered_by_state(client, collector):
    mine = AgreementFactory(customer=CustomerFactory(collector=collector, name="Mine Ltd"))
    InstalmentFactory(agreement=mine)
    AgreementFactory(
        customer=CustomerFactory(collector=collector, name="Kept Ltd"), state="kept", closed_on=TODAY
    )
    AgreementFactory(customer=CustomerFactory(name="Theirs Ltd"))
    client.force_login(collector)
    page = client.get(reverse("agreements:agreement-list"), {"state": "active"}).content.decode()
    assert "Mine Ltd" in page
    assert "Kept Ltd" not in page and "Theirs Ltd" not in page


def test_the_list_is_a_page_of_the_configured_size_in_constant_queries(client, credit_manager, settings):
    settings.CREDITDESK_PAGE_SIZE = 3
    for _ in range(4):
        InstalmentFactory(agreement=AgreementFactory())
    client.force_login(credit_manager)
    url = reverse("agreements:agreement-list")
    with CaptureQueriesContext(connection) as few:
        first = client.get(url)
    for _ in range(4):
        InstalmentFactory(agreement=AgreementFactory())
    with CaptureQueriesContext(connection) as more:
        client.get(url)
    assert len(first.context["page"].object_list) == 3
    assert first.context["page"].paginator.num_pages == 2
    assert len(more.captured_queries) == len(few.captured_queries)
