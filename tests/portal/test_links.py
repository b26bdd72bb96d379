"""A personal link opens exactly one customer, while it is live; otherwise a polite page."""

import datetime as dt
import hashlib
import io

import pytest
from pypdf import PdfReader

from customers.models import PortalLink
from customers.services import mint_portal_link, revoke_portal_links
from tests.factories import ComplaintFactory, CustomerFactory, InvoiceFactory, UserFactory
from tests.portal.conftest import url

pytestmark = pytest.mark.django_db


def test_a_link_stores_only_the_hash_of_a_256_bit_token(customer):
    link, token = mint_portal_link(customer=customer)
    assert len(token) >= 43  # 32 random bytes, urlsafe base64
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not PortalLink.objects.filter(token_hash=token).exists()
    assert (link.expires_at - link.created_at).days in (59, 60)


def test_the_link_opens_the_customers_page_with_open_invoices_and_amounts(client, token, invoices):
    response = client.get(url(token))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Acme &amp; Sons" in page
    for invoice in invoices:
        assert invoice.number in page
    assert "EUR" in page and "600.00" in page  # the open total of the three


def test_an_expired_link_shows_a_polite_page_with_the_collectors_details(client, token, clock):
    clock.shift(dt.timedelta(days=61))
    response = client.get(url(token))
    assert response.status_code == 410
    assert b"no longer valid" in response.content
    assert b"owner@creditdesk.example" in response.content
    assert b"PINV-1" not in response.content


def test_a_revoked_link_shows_the_polite_page(client, token, customer, credit_manager):
    revoke_portal_links(customer=customer, actor=credit_manager)
    response = client.get(url(token))
    assert response.status_code == 410 and b"no longer valid" in response.content


def test_only_a_credit_manager_revokes_links(customer, owner):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        revoke_portal_links(customer=customer, actor=owner)


def test_a_tampered_token_opens_nothing_and_names_no_one(client, token):
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    response = client.get(url(tampered))
    assert response.status_code == 404
    assert b"no longer valid" in response.content and b"owner@creditdesk.example" not in response.content
    assert client.get(url(tampered, "statement.pdf")).status_code == 404


def test_a_token_opens_no_other_customers_invoice_statement_or_file(client, token, customer, owner):
    others = [CustomerFactory(collector=owner) for _ in range(3)]
    foreign = [InvoiceFactory(customer=other, number=f"OTHER-{n}") for n, other in enumerate(others)]
    complaints = [ComplaintFactory(customer=other) for other in others]
    for invoice in foreign:
        assert client.get(url(token, f"invoices/{invoice.pk}/")).status_code == 404
    page = client.get(url(token)).content.decode()
    assert not any(invoice.number in page for invoice in foreign)
    statement = client.get(url(token, "statement.pdf"))
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(statement.content)).pages)
    assert "PINV-1" in text and not any(invoice.number in text for invoice in foreign)
    # Naming another customer's invoice in a form is an invalid choice: nothing is written.
    response = client.post(
        url(token, "answer/dispute/"),
        {"dispute-invoices": [foreign[0].pk], "dispute-category": "pricing", "dispute-description": "x"},
    )
    assert response.status_code == 400
    assert not complaints[0].customer.complaints.exclude(pk=complaints[0].pk).exists()
    assert not customer.complaints.exists()
    # Files are never served under a token: the staff view wants a signed-in user who may see them.
    outsider = UserFactory(username="outsider", role="collector")
    from calls.models import ComplaintAttachment

    attachment = ComplaintAttachment.objects.create(
        complaint=complaints[0],
        file="complaints/x.pdf",
        original_name="x.pdf",
        content_type="application/pdf",
        size=1,
    )
    assert client.get(f"/complaint-files/{attachment.pk}/").status_code == 302  # to the login page
    client.force_login(outsider)
    assert client.get(f"/complaint-files/{attachment.pk}/").status_code == 404


def test_requests_beyond_the_limit_get_a_slow_down_page(client, token, settings):
    settings.PORTAL_RATE_PER_TOKEN = 3
    codes = [client.get(url(token)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert b"wait a minute" in client.get(url(token)).content


def test_forms_refuse_a_post_without_the_csrf_token(token):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(url(token, "answer/contact/"), {"contact-name": "Eve"})
    assert response.status_code == 403


def test_the_page_costs_the_same_queries_for_3_or_30_invoices(client, token, customer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert client.get(url(token)).status_code == 200
        return len(context.captured_queries)

    few = queries()
    InvoiceFactory.create_batch(27, customer=customer)
    many = queries()
    assert many == few <= 15
