"""Forms that send the user back with `next` go back to our own pages only, never to another site."""

import pytest
from django.urls import reverse

from tests.factories import ComplaintFactory, CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db

OFF_SITE = [
    "https://evil.example/phish",
    "//evil.example/phish",
    "/\\evil.example/phish",
    "http:evil.example",
    "javascript:alert(1)",
    "https://evil.example@testserver/",
]


def assign(client, customer, next_url: str):
    return client.post(reverse("calls:assign"), {"customers": [customer.pk], "to_me": "1", "next": next_url})


def resolve(client, complaint, next_url: str):
    url = reverse("calls:complaint-resolve", args=[complaint.pk])
    return client.post(url, {"outcome": "rejected", "next": next_url})


def open_complaint():
    customer = CustomerFactory()
    complaint = ComplaintFactory(customer=customer)
    complaint.invoices.set([InvoiceFactory(customer=customer, status="disputed")])
    return complaint


@pytest.mark.parametrize("next_url", OFF_SITE)
def test_assigning_never_redirects_off_site(client, credit_manager, next_url):
    client.force_login(credit_manager)
    response = assign(client, CustomerFactory(), next_url)
    assert response.status_code == 302 and response["Location"] == reverse("calls:worklist")


@pytest.mark.parametrize("next_url", OFF_SITE)
def test_resolving_a_complaint_never_redirects_off_site(client, credit_manager, next_url):
    client.force_login(credit_manager)
    response = resolve(client, open_complaint(), next_url)
    assert response.status_code == 302 and response["Location"] == reverse("calls:complaint-list")


def test_a_form_invalid_on_assign_also_falls_back_to_the_worklist(client, credit_manager):
    client.force_login(credit_manager)
    response = client.post(reverse("calls:assign"), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("calls:worklist")


def test_next_on_this_site_is_still_followed(client, credit_manager):
    client.force_login(credit_manager)
    worklist_page = f"{reverse('calls:worklist')}?collector=me&page=2"
    assert assign(client, CustomerFactory(), worklist_page)["Location"] == worklist_page
    complaints_page = f"{reverse('calls:complaint-list')}?page=3"
    assert resolve(client, open_complaint(), complaints_page)["Location"] == complaints_page
    assert assign(client, CustomerFactory(), "")["Location"] == reverse("calls:worklist")
