"""A customer with overdue invoices, a collector, a primary contact, and a personal link to the portal."""

import datetime as dt
from decimal import Decimal

import pytest

from customers.services import mint_portal_link
from tests.factories import TODAY, ContactFactory, CustomerFactory, InvoiceFactory, UserFactory


@pytest.fixture(autouse=True)
def portal_settings(settings, tmp_path):
    settings.CREDITDESK_TODAY = TODAY
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.MEDIA_ROOT = tmp_path / "media"
    # The throttle's counters: a cache of the test's own, so a test sees only its own requests.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": str(tmp_path)}
    }
    settings.PORTAL_BASE_URL = "http://testserver"
    return settings


@pytest.fixture
def owner(db):
    return UserFactory(
        username="owner", role="collector", email="owner@creditdesk.example", first_name="Olga"
    )


@pytest.fixture
def customer(owner):
    customer = CustomerFactory(account_number="P00001", name="Acme & Sons", collector=owner)
    ContactFactory(customer=customer, name="Pat Payer", email="pat@acme.example")
    return customer


@pytest.fixture
def invoices(customer):
    return [
        InvoiceFactory(
            customer=customer,
            number=f"PINV-{n}",
            due_date=TODAY - dt.timedelta(days=10 * n),
            amount=Decimal("100.00") * n,
        )  # fmt: skip
        for n in (1, 2, 3)
    ]


@pytest.fixture
def token(customer, invoices):
    _, token = mint_portal_link(customer=customer, contact=customer.contacts.get())
    return token


def url(token: str, rest: str = "") -> str:
    return f"/p/{token}/{rest}"
