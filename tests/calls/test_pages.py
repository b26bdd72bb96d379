"""The browser pages: each role sees what it may, a call logs through the form, lists filter."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from calls.models import Complaint, Interaction
from customers.models import Contact
from invoices.models import Invoice
from tests.calls.scenes import broken_promise_customer, overdue_customer
from tests.factories import (
    TODAY,
    ComplaintFactory,
    ContactFactory,
    CustomerFactory,
    ExcuseFactory,
    InvoiceFactory,
    PaymentFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fixed_day(settings):
    settings.CREDITDESK_TODAY = TODAY


def page_text(response) -> str:
    return response.content.decode()


def test_worklist_shows_the_reason_and_amount_a_collector_acts_on(client, collector):
    customer = broken_promise_customer(collector)
    client.force_login(collector)
    text = page_text(client.get(reverse("calls:worklist")))
    assert customer.name in text
    assert "Promise of 1,200.00 EUR broken on 14 Nov" in text
    assert "1,200.00 EUR" in text


def test_customer_page_has_position_contacts_timeline_and_flags(client, collector):
    customer = overdue_customer(collector, days_late=40, amount="2800.00", invoices=3)
    PaymentFactory(customer=customer, reference="BANK-77", received_on=TODAY - dt.timedelta(days=3))
    for days_ago in (3, 40, 90):
        ExcuseFactory(customer=customer, given_on=TODAY - dt.timedelta(days=days_ago))
    client.force_login(collector)
    text = page_text(client.get(reverse("calls:customer-detail", args=[customer.pk])))
    assert "8,400.00" in text  # overdue total
    assert "10,000.00 EUR" in text  # credit limit
    assert "Not on hold" in text
    assert "third &#x27;Invoice not received&#x27; in 6 months" in text
    assert "Payment received: 1,000.00 EUR" in text
    assert "Never verified" in text
    assert "Log call" in text


def test_collector_gets_404_for_a_customer_outside_their_portfolio(client, collector):
    other = CustomerFactory()
    client.force_login(collector)
    assert client.get(reverse("calls:customer-detail", args=[other.pk])).status_code == 404


@pytest.mark.parametrize(
    "name", ["calls:worklist", "calls:customer-list", "invoices:invoice-list", "calls:complaint-list"]
)
def test_integrator_has_no_ui_pages(client, integrator, name):
    client.force_login(integrator)
    assert client.get(reverse(name)).status_code == 403


def test_finance_lead_reads_the_customer_page_but_cannot_log_a_call(client, finance_lead):
    customer = overdue_customer()
    client.force_login(finance_lead)
    response = client.get(reverse("calls:customer-detail", args=[customer.pk]))
    assert response.status_code == 200 and "Save call" not in page_text(response)
    posted = client.post(
        reverse("calls:log-call", args=[customer.pk]), {"outcome": "reached", "minutes_spent": 3}
    )
    assert posted.status_code == 403 and not Interaction.objects.exists()


def test_logging_a_promise_with_htmx_returns_the_updated_timeline(client, collector):
    customer = overdue_customer(collector, invoices=1, amount="1200.00")
    invoice = customer.invoices.get()
    client.force_login(collector)
    response = client.post(
        reverse("calls:log-call", args=[customer.pk]),
        {
            "contact": customer.contacts.get().pk,
            "channel": "phone",
            "outcome": "promise",
            "minutes_spent": 7,
            "notes": "Will pay after the board meets",
            "agreement_kind": "promise",
            "promise_amount": "1200.00",
            "promise_date": "2026-11-30",
            "invoices": [invoice.pk],
        },
        HTTP_HX_REQUEST="true",
    )
    text = page_text(response)
    assert response.status_code == 200
    assert "Call logged" in text
    assert 'id="timeline" class="panel" hx-swap-oob="true"' in text
    assert "Promise to pay: 1,200.00 EUR (active)" in text
    assert "Will pay after the board meets" in text
    assert Interaction.objects.get().agreement.invoices.get() == invoice


def test_a_promise_without_amount_or_date_is_refused_field_by_field(client, collector):
    customer = overdue_customer(collector)
    client.force_login(collector)
    response = client.post(
        reverse("calls:log-call", args=[customer.pk]),
        {"channel": "phone", "outcome": "promise", "minutes_spent": 5, "agreement_kind": "promise"},
        HTTP_HX_REQUEST="true",
    )
    text = page_text(response)
    assert "How much did they promise?" in text and "By when?" in text
    assert not Interaction.objects.exists()


def test_the_open_invoice_table_shows_each_due_date_amount_and_open_part(client, collector):
    customer = CustomerFactory(collector=collector)
    due = TODAY - dt.timedelta(days=18)
    InvoiceFactory(
        customer=customer,
        number="INV-BIG",
        due_date=due,
        amount=Decimal("1234567.80"),
        allocated_amount=Decimal("0.30"),
    )
    client.force_login(collector)
    text = page_text(client.get(reverse("calls:customer-detail", args=[customer.pk])))
    table = text.split('data-testid="open-invoices"', 1)[1].split("</table>", 1)[0]
    assert f"<td>INV-BIG</td>\n        <td>{due:%-d %b %Y}</td>" in table
    assert '<td class="num">1,234,567.80 EUR</td>' in table
    assert '<td class="num strong">1,234,567.50 EUR</td>' in table


def test_a_refused_call_keeps_the_invoices_ticked_and_marks_them_when_they_are_missing(client, collector):
    customer = overdue_customer(collector, invoices=3)
    first, second, _ = customer.invoices.order_by("due_date", "number")
    client.force_login(collector)
    url = reverse("calls:log-call", args=[customer.pk])
    call = {"channel": "phone", "outcome": "promise", "minutes_spent": 5, "agreement_kind": "promise"}
    text = page_text(client.post(url, {**call, "invoices": [second.pk]}, HTTP_HX_REQUEST="true"))
    assert f'value="{second.pk}" id="id_invoices_1" checked>' in text
    assert f'value="{first.pk}" id="id_invoices_0">' in text
    dispute = {**call, "outcome": "dispute", "agreement_kind": "", "complaint_category": "quality"}
    text = page_text(client.post(url, {**dispute, "complaint_description": "Broken"}, HTTP_HX_REQUEST="true"))
    assert "Choose the invoices the complaint is about." in text
    assert text.count('aria-invalid="true">') == 3  # every box of the field in error


def test_a_payment_plan_needs_two_instalments(client, collector):
    customer = overdue_customer(collector)
    client.force_login(collector)
    response = client.post(
        reverse("calls:log-call", args=[customer.pk]),
        {
            "channel": "phone",
            "outcome": "promise",
            "minutes_spent": 5,
            "agreement_kind": "plan",
            "plan_1_date": "2026-12-01",
            "plan_1_amount": "500.00",
            "plan_2_date": "2026-12-15",
        },
        HTTP_HX_REQUEST="true",
    )
    text = page_text(response)
    assert "Instalment 2 needs a date and an amount." in text
    assert "A payment plan has at least two instalments." in text


def test_a_complaint_logged_in_a_call_disputes_its_invoices(client, collector):
    customer = overdue_customer(collector, invoices=2)
    invoice = customer.invoices.first()
    client.force_login(collector)
    client.post(
        reverse("calls:log-call", args=[customer.pk]),
        {
            "channel": "phone",
            "outcome": "dispute",
            "minutes_spent": 9,
            "complaint_category": "quality",
            "complaint_description": "Pallets arrived broken",
            "excuse_category": "dissatisfied",
            "invoices": [invoice.pk],
            "next_action_on": (TODAY + dt.timedelta(days=3)).isoformat(),
        },
    )
    assert Complaint.objects.get().invoices.get() == invoice
    assert Invoice.objects.get(pk=invoice.pk).status == "disputed"


def test_credit_manager_resolves_a_complaint_and_a_collector_may_not(client, credit_manager, collector):
    customer = CustomerFactory(collector=collector)
    invoice = InvoiceFactory(customer=customer, status="disputed")
    complaint = ComplaintFactory(customer=customer)
    complaint.invoices.set([invoice])
    url = reverse("calls:complaint-resolve", args=[complaint.pk])
    client.force_login(collector)
    assert client.post(url, {"outcome": "rejected"}).status_code == 403
    client.force_login(credit_manager)
    response = client.post(url, {"outcome": "rejected"}, follow=True)
    assert "rejected" in page_text(response)
    assert Complaint.objects.get().outcome == "rejected"
    assert Invoice.objects.get(pk=invoice.pk).status == "open"


def test_contact_is_edited_in_place_and_confirming_stamps_verified(client, collector):
    customer = CustomerFactory(collector=collector)
    contact = ContactFactory(customer=customer, name="Ann Ledger", verified_at=None)
    client.force_login(collector)
    url = reverse("calls:contact-edit", args=[customer.pk, contact.pk])
    assert 'name="phone"' in page_text(client.get(url, HTTP_HX_REQUEST="true"))
    response = client.post(
        url,
        {
            "name": "Ann Ledger",
            "role": "AP lead",
            "email": "ann@example.com",
            "phone": "+31 6 1111",
            "is_primary": "on",
            "confirmed": "on",
        },
        HTTP_HX_REQUEST="true",
    )
    assert "AP lead" in page_text(response) and "Verified" in page_text(response)
    assert Contact.objects.get(pk=contact.pk).verified_at is not None
    bad = client.post(url, {"name": "", "email": "not-an-email"}, HTTP_HX_REQUEST="true")
    assert "This field is required." in page_text(bad) and bad["HX-Retarget"] == f"#contact-{contact.pk}"


def test_statement_of_account_is_a_pdf_listing_open_invoices(client, collector):
    from pypdf import PdfReader

    customer = overdue_customer(collector, invoices=2, amount="1500.00")
    numbers = list(customer.invoices.values_list("number", flat=True))
    client.force_login(collector)
    response = client.get(reverse("calls:customer-statement", args=[customer.pk]))
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Statement of account" in text and all(number in text for number in numbers)
    assert "3,000.00" in text


def test_lists_are_scoped_to_the_portfolio_and_filtered(client, collector):
    mine = overdue_customer(collector, invoices=1, name="Zephyr Logistics BV")
    theirs = overdue_customer(invoices=1, name="Aurora Freight NV")
    client.force_login(collector)
    invoices = page_text(client.get(reverse("invoices:invoice-list")))
    assert mine.invoices.get().number in invoices and theirs.invoices.get().number not in invoices
    customers = page_text(client.get(reverse("calls:customer-list"), {"q": "zephyr"}))
    assert mine.name in customers and theirs.name not in customers
    for name in ("agreements:agreement-list", "calls:complaint-list", "dunning:reminder-list"):
        assert client.get(reverse(name)).status_code == 200


def test_the_old_reminder_list_redirects_to_the_dunning_one_keeping_its_filters(client, collector):
    client.force_login(collector)
    response = client.get("/reminders/", {"status": "failed", "customer": "7"})
    assert response.status_code == 302
    assert response["Location"] == "/dunning/reminders/?status=failed&customer=7"


def test_credit_manager_assigns_customers_to_themselves(client, credit_manager):
    customer = overdue_customer()
    client.force_login(credit_manager)
    response = client.post(reverse("calls:assign"), {"customers": [customer.pk], "to_me": "1"}, follow=True)
    assert "1 customer assigned to you." in page_text(response)
    customer.refresh_from_db()
    assert customer.collector == credit_manager
    assert Decimal(customer.credit_limit) == Decimal("10000.00")
