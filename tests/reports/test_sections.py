"""Dashboard sections are cached per ledger version: a second reader gets them from the cache, and
nobody gets figures older than the last write that changed them."""

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.core.cache import cache

from customers.services import assign_collector
from customers.signals import announce_change
from invoices.services import allocate
from tests.factories import TODAY, CustomerFactory, InvoiceFactory, PaymentFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = f"/reports/section/aging/?as_of={TODAY.isoformat()}"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def cached_sections(settings):
    settings.REPORTS_CACHE_SECONDS = 60
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def invoice():
    customer = CustomerFactory(currency="EUR")
    return InvoiceFactory(
        customer=customer, issue_date=TODAY - dt.timedelta(days=50), due_date=TODAY - dt.timedelta(days=20),
        amount=Decimal("1234.00"),
    )  # fmt: skip


def ledger_reads(queries) -> int:
    return sum("invoices_invoice" in query["sql"] for query in queries)


def test_a_second_reader_gets_the_section_from_the_cache(
    client, finance_lead, credit_manager, invoice, cached_sections, django_assert_max_num_queries
):
    client.force_login(finance_lead)
    first = client.get(URL, headers=HTMX).content.decode()
    client.force_login(credit_manager)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as second_read:
        second = client.get(URL, headers=HTMX).content.decode()

    assert "1,234.00" in first and second == first
    assert ledger_reads(second_read.captured_queries) == 0


def test_a_payment_is_shown_at_once_though_the_section_was_cached(
    client, finance_lead, invoice, cached_sections, django_capture_on_commit_callbacks
):
    client.force_login(finance_lead)
    assert "1,234.00" in client.get(URL, headers=HTMX).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        payment = PaymentFactory(customer=invoice.customer, amount=Decimal("234.00"), received_on=TODAY)
        allocate(payment=payment, invoice=invoice, amount=Decimal("234.00"))
        announce_change(customer_ids={invoice.customer_id}, facts={"payments"}, earliest_day=TODAY)

    page = client.get(URL, headers=HTMX).content.decode()
    assert "1,000.00" in page and "1,234.00" not in page


def test_a_reassignment_is_shown_at_once_in_the_collector_table(
    client, credit_manager, invoice, cached_sections
):
    client.force_login(credit_manager)
    url = f"/reports/section/breakdown/?as_of={TODAY.isoformat()}"
    assert "Nobody assigned" in client.get(url, headers=HTMX).content.decode()

    assign_collector(customers=[invoice.customer], collector=UserFactory(role="collector", first_name="Ann",
                     last_name="Lee"), actor=credit_manager)  # fmt: skip

    page = client.get(url, headers=HTMX).content.decode()
    assert "Ann Lee" in page and "Nobody assigned" not in page


def test_without_a_shared_cache_nothing_is_cached(client, finance_lead, invoice, settings):
    settings.REPORTS_CACHE_SECONDS = 0
    cache.clear()
    client.force_login(finance_lead)
    with mock.patch("reports.sections.cache", wraps=cache) as spy:
        client.get(URL, headers=HTMX)
    assert not [call for call in spy.set.call_args_list if "reports:section" in str(call.args[0])]
    assert not spy.get.called  # not even looked up
