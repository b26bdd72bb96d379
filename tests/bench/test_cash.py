"""`make bench BENCH_ARGS=cash` at a small size: the generator's files go through the real import and the
figures come out of the comparison with the truth. Times are never asserted; the shares are, loosely,
so a matcher that stops working fails here before the benchmark shows it."""

import pytest

from bench import cash
from tests.banking.conftest import small_ledger  # noqa: F401 (the fixture, shared)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_ledger")]


def test_the_cash_benchmark_measures_the_matcher_against_the_truth():
    report = cash.measure(count=180, seed=3)

    assert report["transactions"] == 180 and report["files"] >= 1
    assert report["credits"] + report["debits"] == 180
    assert set(report["by_kind"]) <= set(cash.KINDS) and "clean RF reference" in report["by_kind"]
    assert report["auto"] >= 0.7
    assert report["wrong"] <= 0.02
    assert report["right_first"] >= 0.6
    assert isinstance(report["seconds"], float)


def test_the_generator_is_seeded_and_keeps_the_truth_of_every_line():
    customers, invoices = cash.ledger_rows()
    first = cash.generate(customers=customers, invoices=invoices, count=50, seed=9)
    again = cash.generate(customers=customers, invoices=invoices, count=50, seed=9)

    assert first.files == again.files
    assert len(first.truth) == 50
    paid = [number for credit in first.truth.values() for number in credit.truth_invoices]
    assert len(paid) == len(set(paid))  # each invoice paid by one credit at most
