"""`make bench BENCH_ARGS=cash` at a small size: the generator's files go through the real import and the
figures come out of the comparison with the truth. Times are never asserted; the shares are, loosely,
so a matcher that stops working fails here before the benchmark shows it."""

from datetime import timedelta
from decimal import Decimal

import pytest

from bench import cash
from tests.factories import TODAY, CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db

WORDS = ["Alder", "Birch", "Cedar", "Dune", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper"]
FORMS = ["B.V.", "GmbH", "Ltd", "S.A.", "AB"]


@pytest.fixture
def small_ledger():
    for index in range(40):
        account = f"{200001 + index}"
        trade = ["Foods", "Tools", "Logistics", "Print"][index % 4]
        name = f"{WORDS[index % 10]} {WORDS[(index * 3 + 1) % 10]} {trade} {FORMS[index % 5]}"
        customer = CustomerFactory(account_number=account, name=name)
        for sequence in range(1, 7):
            due = TODAY - timedelta(days=5 * sequence + index % 7)
            amount = Decimal(100 + (index * 37 + sequence * 101) % 4900) + Decimal("0.45")
            number = f"INV-{account}-{sequence:04d}"
            InvoiceFactory(customer=customer, number=number, issue_date=due, due_date=due, amount=amount)


def test_the_cash_benchmark_measures_the_matcher_against_the_truth(small_ledger):
    report = cash.measure(count=180, seed=3)

    assert report["transactions"] == 180 and report["files"] >= 1
    assert report["credits"] + report["debits"] == 180
    assert set(report["by_kind"]) <= set(cash.KINDS) and "clean RF reference" in report["by_kind"]
    assert report["auto"] >= 0.7
    assert report["wrong"] <= 0.02
    assert report["right_first"] >= 0.6
    assert isinstance(report["seconds"], float)


def test_the_generator_is_seeded_and_keeps_the_truth_of_every_line(small_ledger):
    customers, invoices = cash.ledger_rows()
    first = cash.generate(customers=customers, invoices=invoices, count=50, seed=9)
    again = cash.generate(customers=customers, invoices=invoices, count=50, seed=9)

    assert first.files == again.files
    assert len(first.truth) == 50
    paid = [number for credit in first.truth.values() for number in credit.truth_invoices]
    assert len(paid) == len(set(paid))  # each invoice paid by one credit at most
