"""Who may do what through the API: every role against every endpoint and method."""

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import client_for
from tests.factories import TODAY, CustomerFactory, InvoiceFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["credit_manager", "collector", "finance_lead", "integrator", "no_role", "anonymous"]
LATER = "2099-01-31"


def payload(world):
    account, invoice = world["account"], world["invoice"]
    return {
        "customer": {"account_number": "NEW-1", "name": "Nieuw BV", "currency": "EUR"},
        "customer_upsert": {"name": "Nieuw BV", "currency": "EUR"},
        "segment": {"name": "Public sector"},
        "contact": {"customer": account, "name": "Anna de Vries", "email": "anna@example.com"},
        "invoice": {
            "number": "NEW-INV",
            "customer": account,
            "issue_date": "2026-11-01",
            "due_date": "2026-12-01",
            "amount": "100.00",
            "currency": "EUR",
        },
        "invoice_upsert": {
            "customer": account,
            "issue_date": "2026-11-01",
            "due_date": "2026-12-01",
            "amount": "100.00",
            "currency": "EUR",
        },
        "invoice_bulk": {
            "invoices": [
                {
                    "number": "BULK-1",
                    "customer": account,
                    "issue_date": "2026-11-01",
                    "due_date": "2026-12-01",
                    "amount": "100.00",
                    "currency": "EUR",
                }
            ]
        },
        "payment": {
            "customer": account,
            "reference": "PAY-NEW",
            "received_on": TODAY.isoformat(),
            "amount": "10.00",
            "currency": "EUR",
            "allocations": [{"invoice": invoice, "amount": "10.00"}],
        },
        "payment_bulk": {
            "payments": [
                {
                    "customer": account,
                    "reference": "PAY-BULK",
                    "received_on": "2026-11-20",
                    "amount": "10.00",
                    "currency": "EUR",
                }
            ]
        },
        "agreement": {
            "customer": account,
            "kind": "promise",
            "invoices": [invoice],
            "instalments": [{"due_date": LATER, "amount": "500.00"}],
        },
        "interaction": {"customer": account, "outcome": "no_answer", "minutes_spent": 2},
        "excuse": {"customer": account, "category": "person_away", "invoices": [invoice]},
        "complaint": {
            "customer": account,
            "category": "pricing",
            "description": "Too much",
            "invoices": [invoice],
        },
        "task": {"customer": account, "reason": "Call back", "due_on": LATER},
        "credit_control": {"credit_hold": True},
    }


# (method, path, body, {role: expected status}); roles left out get 403, anonymous always 401.
EVERYONE = {"credit_manager": 200, "collector": 200, "finance_lead": 200, "integrator": 200}
LEDGER_WRITERS = {"credit_manager": 201, "integrator": 201}
CALL_LOGGERS = {"credit_manager": 201, "collector": 201}
CONVERSATION_READERS = {"credit_manager": 200, "collector": 200, "finance_lead": 200}
MATRIX = [
    ("get", "/api/v1/customers/", None, EVERYONE),
    ("post", "/api/v1/customers/", "customer", LEDGER_WRITERS),
    ("put", "/api/v1/customers/by-account/NEW-2/", "customer_upsert", LEDGER_WRITERS),
    ("get", "/api/v1/customers/by-account/{account}/", None, EVERYONE),
    ("patch", "/api/v1/customers/{customer_id}/credit-control/", "credit_control", {"credit_manager": 200}),
    ("get", "/api/v1/segments/", None, EVERYONE),
    ("post", "/api/v1/segments/", "segment", {"credit_manager": 201}),
    ("get", "/api/v1/contacts/", None, EVERYONE),
    ("post", "/api/v1/contacts/", "contact", {**LEDGER_WRITERS, "collector": 201}),
    ("get", "/api/v1/invoices/", None, EVERYONE),
    ("get", "/api/v1/invoices/{invoice_id}/", None, EVERYONE),
    ("post", "/api/v1/invoices/", "invoice", LEDGER_WRITERS),
    ("put", "/api/v1/invoices/by-number/NEW-INV-2/", "invoice_upsert", LEDGER_WRITERS),
    ("post", "/api/v1/invoices/bulk/", "invoice_bulk", {"credit_manager": 200, "integrator": 200}),
    ("get", "/api/v1/payments/", None, EVERYONE),
    ("post", "/api/v1/payments/", "payment", LEDGER_WRITERS),
    ("post", "/api/v1/payments/bulk/", "payment_bulk", {"credit_manager": 200, "integrator": 200}),
    ("get", "/api/v1/agreements/", None, EVERYONE),
    ("post", "/api/v1/agreements/", "agreement", CALL_LOGGERS),
    ("get", "/api/v1/interactions/", None, CONVERSATION_READERS),
    ("post", "/api/v1/interactions/", "interaction", CALL_LOGGERS),
    ("get", "/api/v1/excuses/", None, CONVERSATION_READERS),
    ("post", "/api/v1/excuses/", "excuse", CALL_LOGGERS),
    ("get", "/api/v1/complaints/", None, EVERYONE),
    ("post", "/api/v1/complaints/", "complaint", CALL_LOGGERS),
    ("get", "/api/v1/tasks/", None, CONVERSATION_READERS),
    ("post", "/api/v1/tasks/", "task", CALL_LOGGERS),
    ("get", "/api/v1/reminders/", None, EVERYONE),
    ("get", "/api/v1/dunning-policies/", None, EVERYONE),
]


@pytest.fixture
def world(collector):
    customer = CustomerFactory(account_number="ACC-1", collector=collector)
    invoice = InvoiceFactory(number="INV-1", customer=customer)
    return {"account": "ACC-1", "customer_id": customer.pk, "invoice": "INV-1", "invoice_id": invoice.pk}


def client_as(role, request) -> APIClient:
    if role == "anonymous":
        return APIClient()
    if role == "no_role":
        return client_for(UserFactory(username="nobody"))
    return client_for(request.getfixturevalue(role))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "body", "allowed"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX]
)
def test_each_role_may_do_exactly_what_its_role_allows(role, method, path, body, allowed, world, request):
    client = client_as(role, request)
    data = payload(world)[body] if body else None
    response = getattr(client, method)(path.format(**world), data, format="json")
    expected = 401 if role == "anonymous" else allowed.get(role, 403)
    assert response.status_code == expected, response.content[:300]


def test_another_collectors_customer_is_not_found_for_a_collector(collector, world):
    other = CustomerFactory(
        account_number="ELSEWHERE", collector=UserFactory(username="col2", role="collector")
    )
    invoice = InvoiceFactory(customer=other)
    client = client_for(collector)
    assert client.get(f"/api/v1/customers/{other.pk}/").status_code == 404
    assert client.get("/api/v1/customers/by-account/ELSEWHERE/").status_code == 404
    assert client.get(f"/api/v1/invoices/{invoice.pk}/").status_code == 404
    listed = client.get("/api/v1/invoices/").json()["results"]
    assert [row["number"] for row in listed] == ["INV-1"]
    logged = client.post(
        "/api/v1/interactions/", {"customer": "ELSEWHERE", "outcome": "reached"}, format="json"
    )
    assert logged.status_code == 400
    assert logged.json()["customer"] == ["No customer with account number ELSEWHERE."]


def test_throttling_answers_429_past_the_rate(integrator, monkeypatch):
    from rest_framework.throttling import UserRateThrottle

    monkeypatch.setattr(UserRateThrottle, "rate", "3/min", raising=False)
    client = client_for(integrator)
    codes = [client.get("/api/v1/segments/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_bulk_endpoints_have_their_own_lower_rate(integrator, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"bulk": "1/min"})
    client = client_for(integrator)
    body = {"invoices": [{"number": "T-1"}]}
    codes = [client.post("/api/v1/invoices/bulk/", body, format="json").status_code for _ in range(2)]
    assert codes == [400, 429]
    assert client.get("/api/v1/invoices/").status_code == 200
