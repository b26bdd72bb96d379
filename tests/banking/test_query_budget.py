"""Importing a statement costs the same number of queries for 10 lines as for 100: the ledger is read in
a few set-based queries, the sure matches are written as one payment batch with one change notice.

On SQLite the writes may still grow: bulk_create splits its INSERTs by SQLite's limit on parameters and
`invoices.services.add_to_invoices` falls back to one UPDATE per invoice there; the reads may not."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from banking.models import BankTransaction, CustomerBankAccount
from banking.services import import_statement_files
from bench import cash
from customers.access import SYSTEM

pytestmark = pytest.mark.django_db
SLACK = 3


def import_counting_queries(*, count: int, seed: int):
    customers, invoices = cash.ledger_rows()
    generated = cash.generate(customers=customers, invoices=invoices, count=count, seed=seed)
    CustomerBankAccount.objects.bulk_create(
        [CustomerBankAccount(iban=iban, customer_id=pk) for iban, pk in generated.master_ibans.items()],
        ignore_conflicts=True,
    )
    with CaptureQueriesContext(connection) as captured:
        result = import_statement_files(files=generated.files, actor=SYSTEM)
    reads = [
        query for query in captured.captured_queries if query["sql"].lstrip().upper().startswith("SELECT")
    ]
    return (len(captured), len(reads)), result, len(generated.files)


def test_the_queries_of_an_import_do_not_grow_with_its_lines(small_ledger):
    small, small_result, small_files = import_counting_queries(count=10, seed=5)
    large, large_result, large_files = import_counting_queries(count=100, seed=11)

    assert small_files == large_files == 1  # one statement each: the per-statement queries are alike
    assert (small_result.new, large_result.new) == (10, 100)
    assert small_result.applied and large_result.applied >= 50  # both wrote a payment batch
    assert large_result.queued + large_result.unidentified  # and both matched lines left waiting
    assert BankTransaction.objects.count() == 110
    # A query or two follow what the lines hold (a savepoint, a branch of a receiver), never how many
    # there are: one query per line would add ninety.
    assert large[1] <= small[1] + SLACK, f"{small[1]} reads for 10 lines, {large[1]} for 100"
    if connection.vendor == "postgresql":
        assert large[0] <= small[0] + SLACK, f"{small[0]} queries for 10 lines, {large[0]} for 100"
