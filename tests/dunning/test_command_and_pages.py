"""`manage.py run_dunning` and the reminder pages: what a person running or reading the run sees."""

import datetime as dt
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse

from dunning.delivery import DeliveryFailed, deliver
from dunning.models import Reminder
from dunning.services import run_dunning_batch
from tests.factories import TODAY, CustomerFactory, InvoiceFactory, ReminderFactory

pytestmark = pytest.mark.django_db

DUE = dt.date(2026, 11, 23)


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def command(*args) -> str:
    out = StringIO()
    call_command("run_dunning", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_dry_run_prints_what_would_be_sent_and_writes_nothing(standard_policy):
    customer = CustomerFactory(account_number="ACME-1", name="Acme")
    InvoiceFactory(customer=customer, due_date=DUE)
    output = command("--date", "2026-11-30", "--dry-run")
    assert "ACME-1" in output and "+7" in output and "Firm" in output and "would create" in output
    assert "1 reminder(s) would be created" in output
    assert Reminder.objects.count() == 0


def test_run_creates_and_delivers_then_a_second_run_adds_nothing(standard_policy):
    customer = CustomerFactory(account_number="ACME-1")
    InvoiceFactory(customer=customer, due_date=DUE)
    output = command("--date", "2026-11-26", "--deliver")
    assert "created R" in output and "Delivered 1, 0 failed." in output
    assert Reminder.objects.get().status == "sent" and len(mail.outbox) == 1
    again = command("--date", "2026-11-26", "--deliver")
    assert "0 reminder(s) were created" in again and Reminder.objects.count() == 1 and len(mail.outbox) == 1


def test_bad_date_is_refused_with_the_expected_format():
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        command("--date", "30/11/2026")


def test_reminder_page_shows_failed_deliveries_with_their_reason(client, credit_manager, standard_policy):
    customer = CustomerFactory(email="", name="Nomail Ltd")
    InvoiceFactory(customer=customer, due_date=DUE)
    reminder_id = run_dunning_batch(
        customer_ids=[customer.pk], today=DUE + dt.timedelta(days=3)
    ).created_reminder_ids[0]
    with pytest.raises(DeliveryFailed):
        deliver(reminder_id)
    client.force_login(credit_manager)
    page = client.get(reverse("dunning:reminder-list"), {"status": "failed"})
    assert "Nomail Ltd" in page.text and "has no email address" in page.text and "Retry" in page.text


def test_reminder_page_query_count_is_constant(
    client, credit_manager, standard_policy, django_assert_max_num_queries
):
    customers = CustomerFactory.create_batch(12)
    for customer in customers:
        InvoiceFactory(customer=customer, due_date=DUE)
    run_dunning_batch(customer_ids=[c.pk for c in customers], today=DUE + dt.timedelta(days=3))
    client.force_login(credit_manager)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("dunning:reminder-list")).status_code == 200


def test_letter_pdf_downloads_for_the_collector_of_that_customer_only(client, collector, standard_policy):
    mine = CustomerFactory(collector=collector)
    other = CustomerFactory()
    for customer in (mine, other):
        InvoiceFactory(customer=customer, due_date=DUE)
    result = run_dunning_batch(customer_ids=[mine.pk, other.pk], today=DUE + dt.timedelta(days=30))
    by_customer = {p.customer.pk: p.reminder_id for p in result.reminders}
    client.force_login(collector)
    response = client.get(reverse("dunning:letter-pdf", args=[by_customer[mine.pk]]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert client.get(reverse("dunning:letter-pdf", args=[by_customer[other.pk]])).status_code == 404


def test_credit_manager_home_links_to_reminders_and_proposals(client, credit_manager):
    client.force_login(credit_manager)
    page = client.get(reverse("home")).text
    assert reverse("dunning:reminder-list") in page and reverse("dunning:proposal-list") in page


def test_reminder_page_lists_one_customer_history_for_the_customer_page(
    client, credit_manager, standard_policy
):
    acme, other = CustomerFactory(name="Acme Trading"), CustomerFactory(name="Other Holding")
    for customer in (acme, other):
        InvoiceFactory(customer=customer, due_date=DUE)
    for offset in (3, 7, 30):
        run_dunning_batch(customer_ids=[acme.pk, other.pk], today=DUE + dt.timedelta(days=offset))
    client.force_login(credit_manager)
    page = client.get(reverse("dunning:reminder-list"), {"customer": acme.pk}).text
    assert page.count("Acme Trading") == 3 and "Other Holding" not in page
    letter = Reminder.objects.get(customer=acme, channel="letter")
    assert reverse("dunning:letter-pdf", args=[letter.pk]) in page


def test_reminder_page_lists_the_newest_reminders_first(client, credit_manager):
    customer = CustomerFactory()
    older = ReminderFactory(customer=customer, run_on=TODAY - dt.timedelta(days=9))
    newer = ReminderFactory(customer=customer, run_on=TODAY, step=older.step)
    client.force_login(credit_manager)
    page = client.get("/dunning/reminders/").context["page"]
    assert [reminder.pk for reminder in page.object_list] == [newer.pk, older.pk]
