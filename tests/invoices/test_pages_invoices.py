"""The invoice list page (invoices/views.py): the portfolio's invoices with days overdue."""

import datetime as dt

import pytest
from django.urls import reverse

from tests.factories import TODAY, CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


def test_an_overdue_invoice_shows_its_days_and_the_overdue_filter_keeps_it(client, collector, settings):
    settings.CREDITDESK_TODAY = TODAY
    customer = CustomerFactory(collector=collector)
    late = InvoiceFactory(customer=customer, due_date=TODAY - dt.timedelta(days=12))
    InvoiceFactory(customer=customer, due_date=TODAY + dt.timedelta(days=5))
    client.force_login(collector)
    response = client.get(reverse("invoices:invoice-list"), {"overdue": "true"})
    assert [invoice.number for invoice in response.context["page"]] == [late.number]
    assert response.context["page"][0].days_overdue == 12


def test_a_page_number_past_the_end_shows_the_last_page(client, credit_manager, settings):
    settings.CREDITDESK_PAGE_SIZE = 2
    InvoiceFactory.create_batch(3)
    client.force_login(credit_manager)
    response = client.get(reverse("invoices:invoice-list"), {"page": "99"})
    assert response.status_code == 200 and response.context["page"].number == 2
