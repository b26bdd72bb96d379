"""The customer page's timeline, 50 at a time: every event of every source once, newest first,
even when many share a day and a moment; each page costs the same queries however long the history."""

import datetime as dt
from collections import Counter

import pytest
from django.db import connection
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agreements.models import Agreement
from calls import views
from calls.customer_page import PAGE_SIZE, Cursor, timeline_page
from calls.models import Complaint, Excuse, Interaction
from calls.selectors import start_of
from dunning.models import Reminder
from invoices.models import Payment
from tests.factories import (
    TODAY,
    AgreementFactory,
    ComplaintFactory,
    CustomerFactory,
    ExcuseFactory,
    InteractionFactory,
    PaymentFactory,
    ReminderFactory,
    StepFactory,
)

pytestmark = pytest.mark.django_db

MIDNIGHT = start_of(TODAY)  # the moment every date-only event of TODAY sorts at
NOON = MIDNIGHT + dt.timedelta(hours=12)


@pytest.fixture(autouse=True)
def fixed_day(settings):
    settings.CREDITDESK_TODAY = TODAY


def tangled_history(customer, copies: int = 6) -> None:
    """Every source, `copies` times, most of them on the same day and at the same moment, so only
    the kind and the id tell them apart; plus a tail of older days."""
    step = StepFactory()
    for _ in range(copies):
        InteractionFactory(customer=customer, occurred_at=MIDNIGHT)
        InteractionFactory(customer=customer, occurred_at=NOON)
        ExcuseFactory(customer=customer, given_on=TODAY)
        ComplaintFactory(customer=customer, opened_on=TODAY, resolved_on=TODAY, outcome="upheld")
        made = AgreementFactory(customer=customer, made_on=TODAY, state="broken", closed_on=TODAY)
        in_call = AgreementFactory(customer=customer, made_on=TODAY)  # told by its call's line only
        InteractionFactory(customer=customer, occurred_at=NOON, agreement=in_call)
        PaymentFactory(customer=customer, received_on=TODAY)
        ReminderFactory(customer=customer, step=StepFactory(policy=step.policy, offset_days=_ + 10))
        Agreement.objects.filter(pk=made.pk).update(created_at=MIDNIGHT)
    Payment.objects.filter(customer=customer).update(created_at=MIDNIGHT)
    Reminder.objects.filter(customer=customer).update(created_at=NOON)
    for days_ago in range(1, 40):
        day = TODAY - dt.timedelta(days=days_ago)
        InteractionFactory(customer=customer, occurred_at=start_of(day) + dt.timedelta(hours=9))
        PaymentFactory(customer=customer, received_on=day)
        ExcuseFactory(customer=customer, given_on=day)


def expected_events(customer) -> set[tuple[str, int]]:
    """Every event the timeline must show once, counted straight from the tables."""
    complaints = Complaint.objects.filter(customer=customer)
    agreements = Agreement.objects.filter(customer=customer)
    rows = {
        "call": Interaction.objects.filter(customer=customer),
        "excuse": Excuse.objects.filter(customer=customer, interaction=None),
        "complaint-opened": complaints.filter(interaction=None),
        "complaint-resolved": complaints.exclude(resolved_on=None),
        "agreement-made": agreements.filter(interaction=None),
        "agreement-closed": agreements.exclude(closed_on=None),
        "payment": Payment.objects.filter(customer=customer),
        "reminder": Reminder.objects.filter(customer=customer),
    }
    return {(kind, pk) for kind, queryset in rows.items() for pk in queryset.values_list("pk", flat=True)}


def walk(customer, size: int) -> list[Cursor]:
    keys, before = [], None
    while True:
        page = timeline_page(customer, before=before, size=size, more_sources=[views.REMINDERS])
        assert len(page.entries) == size or page.older is None
        keys += [entry.key for entry in page.entries]
        if page.older is None:
            return keys
        before = Cursor.decode(page.older.encode())  # as the "Older" link carries it


@pytest.mark.parametrize("size", [PAGE_SIZE, 7, 1])
def test_paging_shows_every_event_once_newest_first_despite_ties(size):
    customer = CustomerFactory()
    tangled_history(customer)
    CustomerFactory()  # another customer's history stays out
    keys = walk(customer, size)
    assert len(keys) == len(set(keys))
    assert keys == sorted(keys, reverse=True)
    assert {(key.kind, key.id) for key in keys} == expected_events(customer)


def test_the_tie_order_is_day_then_moment_then_kind_then_id():
    customer = CustomerFactory()
    tangled_history(customer, copies=2)
    today = [key for key in walk(customer, 5) if key.day == TODAY]
    moments_kinds = [(key.moment, key.kind) for key in today]
    assert moments_kinds[0][0] == NOON and moments_kinds[-1][0] == MIDNIGHT
    at_midnight = [key.kind for key in today if key.moment == MIDNIGHT]
    assert at_midnight == sorted(at_midnight, reverse=True)
    assert {"call", "excuse", "payment", "agreement-closed", "complaint-resolved"} <= set(at_midnight)


def test_an_event_added_after_page_one_does_not_shift_page_two():
    customer = CustomerFactory()
    tangled_history(customer)
    first = timeline_page(customer, more_sources=[views.REMINDERS])
    second = timeline_page(customer, before=first.older, more_sources=[views.REMINDERS])
    InteractionFactory(customer=customer, occurred_at=NOON + dt.timedelta(minutes=1))
    again = timeline_page(customer, before=first.older, more_sources=[views.REMINDERS])
    assert [entry.key for entry in again.entries] == [entry.key for entry in second.entries]


def test_a_cursor_survives_its_link_and_a_bad_one_is_ignored():
    cursor = Cursor(TODAY, NOON + dt.timedelta(microseconds=7), "call", 42)
    assert Cursor.decode(cursor.encode()) == cursor
    for bad in (None, "", "garbage", "2026-11-23.x.call.1", "2026-13-01.0.call.1"):
        assert Cursor.decode(bad) is None


# One query for every source's keys, then per source with an event on the page its rows and what
# their lines name: 1 + calls 3 (excuses, complaints) + excuses 1 + complaints opened 2 and resolved 2
# (invoices) + agreements made 1 and closed 1 + payments 1 + reminders 2 (invoices).
EVERY_SOURCE_SHOWN = 14


def test_each_page_costs_at_most_the_keys_and_one_read_per_source_shown_whatever_the_history():
    short, long = CustomerFactory(), CustomerFactory()
    tangled_history(short, copies=1)
    tangled_history(long, copies=12)

    def queries(customer, before=None) -> tuple[int, set[str]]:
        with CaptureQueriesContext(connection) as context:
            page = timeline_page(customer, before=before, more_sources=[views.REMINDERS])
        return len(context.captured_queries), {entry.key.kind for entry in page.entries}

    count, kinds = queries(short)
    assert len(kinds) == 8 and count == EVERY_SOURCE_SHOWN
    before, pages = None, 0
    while True:  # every page of the long history, deep ones included
        count, kinds = queries(long, before)
        assert count <= EVERY_SOURCE_SHOWN
        before, pages = timeline_page(long, before=before, more_sources=[views.REMINDERS]).older, pages + 1
        if before is None:
            break
    assert pages > 3


def test_only_the_events_shown_are_read_as_rows():
    """Every source's first 51 keys are read, but only the 50 events shown become model instances:
    a long history does not build hundreds of rows (with their related ones) to show 50."""
    customer = CustomerFactory()
    tangled_history(customer, copies=12)
    built: list[str] = []

    def count(sender, instance, **kwargs):
        built.append(sender.__name__)

    models = (Interaction, Excuse, Complaint, Agreement, Payment, Reminder)
    for model in models:
        post_init.connect(count, sender=model)
    try:
        page = timeline_page(customer, more_sources=[views.REMINDERS])
    finally:
        for model in models:
            post_init.disconnect(count, sender=model)
    shown = Counter(entry.key.kind for entry in page.entries)
    assert sum(shown.values()) == PAGE_SIZE and shown["call"] < PAGE_SIZE
    # Each call, payment and reminder shown is built once (calls: with their agreements); before,
    # every source's first 51 were.
    assert Counter(built)["Interaction"] == shown["call"]
    assert Counter(built)["Payment"] == shown["payment"]
    assert Counter(built)["Reminder"] == shown["reminder"]
    assert Counter(built)["Excuse"] == shown["excuse"]


def test_the_page_shows_fifty_and_older_loads_the_next_fifty(client, collector):
    customer = CustomerFactory(collector=collector)
    tangled_history(customer)
    client.force_login(collector)
    page = client.get(reverse("calls:customer-detail", args=[customer.pk])).content.decode()
    assert page.count('<li class="entry') == PAGE_SIZE
    assert 'data-testid="timeline-older"' in page
    older = timeline_page(customer, more_sources=[views.REMINDERS]).older
    url = f"{reverse('calls:customer-timeline', args=[customer.pk])}?before={older.encode()}"
    assert url in page
    fragment = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and fragment.count('<li class="entry') == PAGE_SIZE
    full = client.get(url).content.decode()
    assert "<html" in full and "Back to the customer page" in full


def test_the_last_page_has_no_older_button(client, collector):
    customer = CustomerFactory(collector=collector)
    PaymentFactory(customer=customer, reference="ONLY-ONE")
    client.force_login(collector)
    page = client.get(reverse("calls:customer-detail", args=[customer.pk])).content.decode()
    assert "ONLY-ONE" in page and 'data-testid="timeline-older"' not in page


def test_older_entries_stay_inside_the_collectors_portfolio(client, collector):
    other = CustomerFactory()
    client.force_login(collector)
    assert client.get(reverse("calls:customer-timeline", args=[other.pk])).status_code == 404


def test_the_side_panel_shows_the_latest_agreements_and_links_to_all(client, collector):
    customer = CustomerFactory(collector=collector)
    for days_ago in range(12):
        AgreementFactory(
            customer=customer, made_on=TODAY - dt.timedelta(days=days_ago), total_amount=1000 + days_ago
        )
    client.force_login(collector)
    response = client.get(reverse("calls:customer-detail", args=[customer.pk]))
    assert [agreement.made_on for agreement in response.context["agreements"]] == [
        TODAY - dt.timedelta(days=n) for n in range(10)
    ]
    assert f"{reverse('agreements:agreement-list')}?customer={customer.pk}" in response.content.decode()
