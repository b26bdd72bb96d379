"""Dashboard sections are cached per ledger version: a second reader gets them from the cache, and
nobody gets figures older than the last write that changed them."""

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.core.cache import cache
from django.utils import timezone

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


# --- What stales a section: the facts it reads, on the days it covers (reports/section_stamps.py) ---

PAST_DAY = TODAY - dt.timedelta(days=23)


def read_twice_counting_ledger_reads(client, url, change) -> int:
    """Read `url`, make `change` (committed), read it again: the ledger reads of the second read."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, headers=HTMX)
    change()
    with CaptureQueriesContext(connection) as second_read:
        client.get(url, headers=HTMX)
    return ledger_reads(second_read.captured_queries)


def announced(customer_id, facts, earliest_day, capture):
    def change():
        with capture(execute=True):
            announce_change(customer_ids={customer_id}, facts=facts, earliest_day=earliest_day)

    return change


@pytest.mark.parametrize(
    ("facts", "earliest_day", "stale"),
    [
        ({"contacts", "tasks"}, TODAY, False),  # a logged call: the aging reads no calls
        ({"payments"}, TODAY, True),
        ({"payments"}, PAST_DAY + dt.timedelta(days=1), True),  # dated before today: still today's
        ({"payments"}, None, True),  # no day: any day
        ({"hearsay"}, TODAY, True),  # a word the reports do not know: everything
        (set(), TODAY, True),
    ],
)
def test_todays_aging_is_stale_only_after_a_change_it_reads(
    client, finance_lead, invoice, cached_sections, django_capture_on_commit_callbacks, facts, earliest_day,
    stale,
):  # fmt: skip
    client.force_login(finance_lead)
    change = announced(invoice.customer_id, facts, earliest_day, django_capture_on_commit_callbacks)
    assert bool(read_twice_counting_ledger_reads(client, URL, change)) is stale


@pytest.mark.parametrize(
    ("facts", "earliest_day", "stale"),
    [
        ({"payments"}, TODAY, False),  # the morning's payments do not move last month's figures
        ({"new_invoices"}, PAST_DAY + dt.timedelta(days=1), False),
        ({"payments"}, PAST_DAY, True),  # back-dated to the day shown
        ({"invoices"}, PAST_DAY - dt.timedelta(days=400), True),  # a year before: that year's key
        ({"invoices"}, None, True),
        ({"customer"}, TODAY, True),  # a customer's own fields (its currency) move every day
    ],
)
def test_a_past_days_aging_is_stale_only_after_a_change_dated_on_or_before_it(
    client, finance_lead, invoice, cached_sections, django_capture_on_commit_callbacks, facts, earliest_day,
    stale,
):  # fmt: skip
    client.force_login(finance_lead)
    url = f"/reports/section/aging/?as_of={PAST_DAY.isoformat()}"
    change = announced(invoice.customer_id, facts, earliest_day, django_capture_on_commit_callbacks)
    assert bool(read_twice_counting_ledger_reads(client, url, change)) is stale


def test_a_logged_call_stales_the_effort_section_and_shows_its_minutes(
    client, finance_lead, collector, invoice, cached_sections, django_capture_on_commit_callbacks
):
    from calls.services import CallLog, log_call
    from tests.factories import ContactFactory

    client.force_login(finance_lead)
    today = timezone.localdate()
    url = f"/reports/section/effort/?as_of={today.isoformat()}"
    before = client.get(url, headers=HTMX).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        call = CallLog(outcome="reached", minutes_spent=47, contact=ContactFactory(customer=invoice.customer))
        log_call(customer=invoice.customer, user=collector, call=call, today=today)
    after = client.get(url, headers=HTMX).content.decode()
    assert "47 minutes in all" not in before and "47 minutes in all" in after


def test_a_change_is_seen_by_exactly_the_days_on_or_after_it():
    """Each change sets one of the keys every later day reads (its year, month or day), none of an
    earlier day's: over every pair of days a few years apart."""
    from hypothesis import given
    from hypothesis import strategies as st

    from reports.section_stamps import _buckets_of, _buckets_through

    days = st.dates(min_value=dt.date(1998, 1, 1), max_value=dt.date(2030, 12, 31))

    @given(changed=days, shown=days)
    def seen_exactly_when_on_or_before(changed, shown):
        seen = bool(set(_buckets_of(changed)) & set(_buckets_through(shown)))
        assert seen is (max(changed, dt.date(2000, 1, 1)) <= max(shown, dt.date(2000, 1, 1)))

    seen_exactly_when_on_or_before()
    assert set(_buckets_of(None)) & set(_buckets_through(dt.date(2000, 1, 1)))


@pytest.mark.parametrize(("days_after", "stale"), [(0, True), (7, True), (8, False)])
def test_the_channels_of_a_past_day_read_payments_up_to_a_week_after_it(
    client, finance_lead, invoice, cached_sections, django_capture_on_commit_callbacks, days_after, stale
):
    from reports import analytics

    client.force_login(finance_lead)
    url = f"/reports/section/channels/?as_of={PAST_DAY.isoformat()}"
    change = announced(
        invoice.customer_id, {"payments"}, PAST_DAY + dt.timedelta(days=days_after),
        django_capture_on_commit_callbacks,
    )  # fmt: skip
    follow_through = analytics.channel_follow_through
    with mock.patch.object(analytics, "channel_follow_through", wraps=follow_through) as built:
        client.get(url, headers=HTMX)
        change()
        client.get(url, headers=HTMX)
    assert built.call_count == (2 if stale else 1)


def test_a_payment_recomputes_the_complaints_but_not_what_customers_said(
    client, finance_lead, invoice, cached_sections, django_capture_on_commit_callbacks
):
    from reports import analytics

    client.force_login(finance_lead)
    url = f"/reports/section/excuses/?as_of={TODAY.isoformat()}"
    paid = announced(invoice.customer_id, {"payments"}, TODAY, django_capture_on_commit_callbacks)
    excused = announced(invoice.customer_id, {"excuses"}, TODAY, django_capture_on_commit_callbacks)
    complaints = analytics.complaints_used_to_delay
    with (
        mock.patch.object(analytics, "excuse_mix", wraps=analytics.excuse_mix) as said,
        mock.patch.object(analytics, "complaints_used_to_delay", wraps=complaints) as delays,
    ):
        client.get(url, headers=HTMX)
        paid()
        client.get(url, headers=HTMX)
        assert (said.call_count, delays.call_count) == (1, 2)
        excused()
        client.get(url, headers=HTMX)
        assert (said.call_count, delays.call_count) == (2, 3)


def test_new_worth_it_settings_recompute_the_cached_effort(
    client, finance_lead, credit_manager, invoice, cached_sections, django_capture_on_commit_callbacks
):
    from reports import analytics
    from reports.services import update_worth_it_settings

    client.force_login(finance_lead)
    url = f"/reports/section/effort/?as_of={TODAY.isoformat()}"
    effort = analytics.effort_summaries
    with mock.patch.object(analytics, "effort_summaries", wraps=effort) as built:
        client.get(url, headers=HTMX)
        with django_capture_on_commit_callbacks(execute=True):
            update_worth_it_settings(actor=credit_manager, hourly_collection_cost=Decimal("99.00"))
        client.get(url, headers=HTMX)
    assert built.call_count == 2
