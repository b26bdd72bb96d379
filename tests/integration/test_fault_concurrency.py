"""Concurrent writers on PostgreSQL: one Idempotency-Key sent 50 times at once; 2 x 500 allocations
racing for one invoice from two connections."""

import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Sum

from invoices.models import Allocation, Invoice
from invoices.services import allocate
from tests.conftest import need_service
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory
from tests.integration.conftest import ROOT, ServedApp

pytestmark = pytest.mark.integration


@pytest.fixture
def served(app_database, tmp_path):
    app = ServedApp(
        {"DATABASE_URL": app_database.url, "REDIS_URL": ""}, tmp_path / "app", workers=2, threads=25
    )
    yield app
    app.stop()


def test_fifty_parallel_posts_with_one_idempotency_key_make_one_record_and_one_answer(served, app_database):
    _, _, token = app_database.credentials
    key = str(uuid.uuid4())
    account = f"IDEM-{key[:8]}"
    body = {"account_number": account, "name": "Fifty Times The Same BV"}
    barrier = threading.Barrier(50)

    def post(_):
        barrier.wait()
        return requests.post(
            served.base_url + "/api/v1/customers/",
            json=body,
            headers={"Authorization": f"Token {token}", "Idempotency-Key": key},
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(post, range(50)))

    assert [answer.status_code for answer in answers] == [201] * 50, (
        {answer.status_code for answer in answers},
        served.log()[-3000:],
    )
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert sum(answer.headers.get("Idempotent-Replayed") == "true" for answer in answers) == 49
    query = (
        "from customers.models import Customer; "
        f"print(Customer.objects.filter(account_number={account!r}).count())"
    )
    count = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", query],
        cwd=ROOT, env={**served.env}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert count.stdout.strip().splitlines()[-1] == "1"


@pytest.mark.django_db(transaction=True)
def test_two_connections_racing_500_allocations_each_never_over_allocate_an_invoice():
    need_service(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    customer = CustomerFactory()
    invoice = InvoiceFactory(customer=customer, amount=Decimal("600.00"))
    payments = PaymentFactory.create_batch(1000, customer=customer, amount=Decimal("1.00"))
    results = {"made": 0, "refused": [], "other": []}
    lock = threading.Lock()

    def allocate_all(mine):
        try:
            for payment in mine:
                try:
                    allocate(
                        payment=payment, invoice=Invoice.objects.get(pk=invoice.pk), amount=Decimal("1.00")
                    )
                    outcome = "made"
                except ValidationError as error:
                    outcome = error.message_dict["amount"][0]
                except Exception as error:  # noqa: BLE001 - anything else is the failure we look for
                    outcome = error
                with lock:
                    if outcome == "made":
                        results["made"] += 1
                    elif isinstance(outcome, str):
                        results["refused"].append(outcome)
                    else:
                        results["other"].append(outcome)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=allocate_all, args=(payments[start::2],)) for start in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    invoice.refresh_from_db()
    assert results["other"] == []
    assert results["made"] == 600 and len(results["refused"]) == 400
    assert all("exceeds the open amount of invoice" in message for message in results["refused"])
    assert invoice.allocated_amount == Decimal("600.00") == Allocation.objects.aggregate(s=Sum("amount"))["s"]
    assert invoice.status == "paid"
