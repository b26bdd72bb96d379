"""A POST sent again with the same Idempotency-Key is answered with the first answer and writes nothing."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from creditdesk.models import IdempotencyRecord
from invoices.models import Allocation, Invoice, Payment
from tests.api.conftest import client_for
from tests.conftest import need_service
from tests.factories import CustomerFactory, InvoiceFactory, UserFactory

BULK = {
    "invoices": [
        {
            "number": "K-1",
            "customer": "ACC-1",
            "issue_date": "2026-11-01",
            "due_date": "2026-12-01",
            "amount": "10.00",
            "currency": "EUR",
        }
    ]
}


@pytest.fixture
def customer(db):
    return CustomerFactory(account_number="ACC-1")


@pytest.mark.django_db
def test_a_replay_returns_the_first_answer_and_writes_nothing(as_integrator, customer):
    InvoiceFactory(number="F-1", customer=customer, amount=Decimal("100.00"))
    body = {
        "customer": "ACC-1",
        "reference": "BANK-1",
        "received_on": "2026-11-20",
        "amount": "60.00",
        "currency": "EUR",
        "allocations": [{"invoice": "F-1", "amount": "60.00"}],
    }
    first = as_integrator.post("/api/v1/payments/", body, format="json", HTTP_IDEMPOTENCY_KEY="sync-42")
    Payment.objects.all().delete()  # even if the data changed since, the retry must not write again
    Allocation.objects.all().delete()
    replay = as_integrator.post("/api/v1/payments/", body, format="json", HTTP_IDEMPOTENCY_KEY="sync-42")
    assert (replay.status_code, replay.json()) == (first.status_code, first.json()) == (201, first.json())
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_a_422(as_integrator, customer):
    as_integrator.post("/api/v1/invoices/bulk/", BULK, format="json", HTTP_IDEMPOTENCY_KEY="k")
    other = {"invoices": [{**BULK["invoices"][0], "amount": "11.00"}]}
    response = as_integrator.post("/api/v1/invoices/bulk/", other, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 422
    assert "already used for a different request" in response.json()["detail"]
    assert Invoice.objects.get().amount == Decimal("10.00")


@pytest.mark.django_db
def test_keys_belong_to_one_user(as_integrator, customer):
    as_integrator.post("/api/v1/invoices/bulk/", BULK, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    other = client_for(UserFactory(username="erp2", role="integrator"))
    response = other.post("/api/v1/invoices/bulk/", BULK, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert response.status_code == 200 and "Idempotent-Replayed" not in response.headers
    assert response.json() == {"created": 0, "updated": 0, "unchanged": 1}


@pytest.mark.django_db
def test_a_refused_request_keeps_no_answer_so_the_key_can_be_retried(as_integrator, customer):
    bad = {"invoices": [{**BULK["invoices"][0], "currency": "XXX"}]}
    assert (
        as_integrator.post("/api/v1/invoices/bulk/", bad, format="json", HTTP_IDEMPOTENCY_KEY="r").status_code
        == 400
    )
    assert not IdempotencyRecord.objects.exists()
    fixed = as_integrator.post("/api/v1/invoices/bulk/", BULK, format="json", HTTP_IDEMPOTENCY_KEY="r")
    assert fixed.status_code == 200 and Invoice.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_write_once(integrator):
    need_service(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    CustomerFactory(account_number="ACC-1")
    InvoiceFactory(number="F-1", customer__account_number="ACC-0", amount=Decimal("100.00"))
    body = {
        "customer": "ACC-1",
        "reference": "BANK-C",
        "received_on": "2026-11-20",
        "amount": "60.00",
        "currency": "EUR",
    }
    barrier, answers = threading.Barrier(4), []

    def send():
        try:
            client = client_for(integrator)
            barrier.wait()
            response = client.post("/api/v1/payments/", body, format="json", HTTP_IDEMPOTENCY_KEY="race")
            answers.append((response.status_code, response.json()["id"]))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Payment.objects.filter(reference="BANK-C").count() == 1
    assert len(answers) == 4 and len(set(answers)) == 1 and answers[0][0] == 201


@pytest.mark.django_db
def test_old_stored_answers_are_pruned_and_recent_ones_kept(integrator, capsys):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    old = IdempotencyRecord.objects.create(
        user=integrator, key="old", method="POST", path="/", request_fingerprint="x"
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    IdempotencyRecord.objects.create(
        user=integrator, key="new", method="POST", path="/", request_fingerprint="y"
    )
    call_command("prune_idempotency_keys", "--days", "30")
    assert "1 stored answer(s)" in capsys.readouterr().out
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
