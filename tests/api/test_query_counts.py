"""Every API list answers in the same number of queries for 5 rows as for 50: no N+1."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import (
    AgreementFactory,
    ComplaintFactory,
    ContactFactory,
    CustomerFactory,
    ExcuseFactory,
    InstalmentFactory,
    InteractionFactory,
    InvoiceFactory,
    PaymentFactory,
    ReminderFactory,
    StepFactory,
    TaskFactory,
)

pytestmark = pytest.mark.django_db


def make_rows(kind: str, count: int, collector) -> None:
    for _ in range(count):
        customer = CustomerFactory(collector=collector)
        invoice = InvoiceFactory(customer=customer)
        if kind == "contacts":
            ContactFactory(customer=customer)
        elif kind == "payments":
            payment = PaymentFactory(customer=customer)
            payment.allocations.create(invoice=invoice, amount=invoice.amount / 2)
        elif kind == "agreements":
            agreement = AgreementFactory(customer=customer)
            agreement.invoices.add(invoice)
            InstalmentFactory(agreement=agreement, sequence=1)
        elif kind == "interactions":
            InteractionFactory(customer=customer, user=collector)
        elif kind == "excuses":
            ExcuseFactory(customer=customer).invoices.add(invoice)
        elif kind == "complaints":
            ComplaintFactory(customer=customer).invoices.add(invoice)
        elif kind == "tasks":
            TaskFactory(customer=customer, assigned_to=collector)
        elif kind == "reminders":
            reminder = ReminderFactory(customer=customer)
            reminder.lines.create(invoice=invoice, open_amount=invoice.amount)
        elif kind == "dunning-policies":
            StepFactory()


# Queries per page, whatever its length: 4 to authenticate and scope (token, the user's and the
# groups' permissions, the role), then count (not with cursor pages), rows, and one per prefetch.
PAGES = {
    "customers": 6,
    "contacts": 6,
    "segments": 5,
    "invoices": 5,
    "payments": 7,
    "agreements": 8,
    "interactions": 6,
    "excuses": 7,
    "complaints": 7,
    "tasks": 6,
    "reminders": 8,
    "dunning-policies": 6,
}


@pytest.mark.parametrize("kind", sorted(PAGES))
@pytest.mark.parametrize("role", ["credit_manager", "collector"])
def test_list_query_count_does_not_grow_with_the_page(
    kind, role, collector, request, django_assert_max_num_queries
):
    from tests.api.conftest import client_for

    client = client_for(request.getfixturevalue(role))
    make_rows(kind, 5, collector)
    with CaptureQueriesContext(connection) as queries:
        small = client.get(f"/api/v1/{kind}/")
    assert len(queries) <= PAGES[kind]
    make_rows(kind, 45, collector)
    with django_assert_max_num_queries(len(queries)):
        large = client.get(f"/api/v1/{kind}/", {"page_size": 50})
    assert small.status_code == large.status_code == 200
    if kind not in ("segments", "dunning-policies"):
        assert len(large.json()["results"]) > len(small.json()["results"])
