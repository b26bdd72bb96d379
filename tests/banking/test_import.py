"""Importing statement files: both formats, re-import, refusal, and payments applied through the services."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from banking.choices import TransactionStatus
from banking.models import BankStatement, BankTransaction
from banking.services import import_statement_file
from customers.access import SYSTEM
from invoices.models import Allocation, Invoice, Payment

from .conftest import sample

pytestmark = pytest.mark.django_db


def status_of(number: str) -> tuple[str, Decimal]:
    invoice = Invoice.objects.get(number=number)
    return invoice.status, invoice.amount - invoice.allocated_amount


def test_camt053_v02_imports_two_statements_applies_sure_matches_and_keeps_debits(ledger):
    result = import_statement_file(content=sample("camt053_001_02_two_statements.xml"), actor=SYSTEM)

    assert (result.statements, result.new, result.known) == (2, 5, 0)
    assert (result.applied, result.queued, result.unidentified, result.debits) == (3, 0, 1, 1)
    assert BankStatement.objects.count() == 2
    batch = BankTransaction.objects.filter(entry_reference="E-0002").order_by("detail_number")
    assert [(t.detail_number, t.amount) for t in batch] == [(1, Decimal("2000.00")), (2, Decimal("300.00"))]
    assert status_of("INV-2026-00412") == ("paid", Decimal("0.00"))  # by RF reference
    assert status_of("INV-2026-00500") == ("paid", Decimal("0.00"))  # number in the text
    assert status_of("INV-2026-00413") == ("paid", Decimal("0.00"))  # "inv 2026-413": lost zeros
    assert status_of("INV-2026-00414") == ("open", Decimal("89.90"))  # the debit pays nothing
    debit = BankTransaction.objects.get(entry_reference="E-0003")
    assert debit.status == TransactionStatus.DEBIT and not debit.payments.exists()
    zeta = BankTransaction.objects.get(counterparty_name="Zeta Holdings Ltd")
    assert zeta.status == TransactionStatus.UNIDENTIFIED and zeta.suggestions == []
    first = BankTransaction.objects.get(entry_reference="E-0001", statement_ref="STMT-2026-11-23-A")
    payment = first.payments.get()
    assert (payment.customer, payment.reference, payment.amount) == (
        ledger["acme"],
        f"BANK-{first.pk}",
        first.amount,
    )
    assert list(payment.allocations.values_list("invoice__number", "amount")) == [
        ("INV-2026-00412", Decimal("1250.00"))
    ]
    assert "RF reference RF37 INV2 0260 0412 matches INV-2026-00412" in first.reason


def test_reimporting_the_same_file_adds_nothing(ledger):
    import_statement_file(content=sample("camt053_001_02_two_statements.xml"), actor=SYSTEM)
    counts = (BankTransaction.objects.count(), Payment.objects.count(), Allocation.objects.count())

    again = import_statement_file(content=sample("camt053_001_02_two_statements.xml"), actor=SYSTEM)

    assert (again.new, again.known, again.applied) == (0, 5, 0)
    assert (BankTransaction.objects.count(), Payment.objects.count(), Allocation.objects.count()) == counts


def test_camt053_v08_reads_parties_in_pty_skips_pending_and_leaves_a_fee_open(ledger):
    result = import_statement_file(content=sample("camt053_001_08_batch.xml"), actor=SYSTEM)

    assert (result.new, result.applied) == (3, 3)
    fee = BankTransaction.objects.get(entry_reference="N-1")
    assert fee.counterparty_name == "ACME TRADING BV"
    assert "short by 10.00 EUR: within the bank-fee tolerance" in fee.reason
    assert status_of("INV-2026-00412") == ("open", Decimal("10.00"))
    assert status_of("INV-2026-00501") == ("paid", Decimal("0.00"))
    assert not BankTransaction.objects.filter(entry_reference="N-3").exists()  # pending: not booked yet


def test_mt940_imports_two_statements_with_structured_details(ledger):
    result = import_statement_file(content=sample("mt940_two_statements.sta"), actor=SYSTEM)

    assert (result.statements, result.new, result.applied, result.debits) == (2, 3, 2, 1)
    line = BankTransaction.objects.get(entry_reference="B6K23A001")
    assert (line.counterparty_name, line.counterparty_iban, line.end_to_end_id) == (
        "ACME TRADING BV", "NL91ABNA0417164300", "E2E-ACME-1",
    )  # fmt: skip
    assert status_of("INV-2026-00412")[0] == "paid" and status_of("INV-2026-00500")[0] == "paid"
    assert import_statement_file(content=sample("mt940_two_statements.sta"), actor=SYSTEM).new == 0


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("camt053_bad_amount.xml", "line 60: <Amt> is not an amount."),
        ("camt052_not_a_statement.xml", "is not camt.053 001.02 or 001.08"),
        ("mt940_wrong_closing_balance.sta", "transactions give 13160.10, :62F: says 13170.10"),
    ],
)
def test_a_broken_file_is_refused_whole_naming_the_place_at_fault(ledger, name, message):
    with pytest.raises(ValidationError) as refused:
        import_statement_file(content=sample(name), file_name=name, actor=SYSTEM)

    assert message in refused.value.message_dict["file"][0]
    assert not BankStatement.objects.exists() and not Payment.objects.exists()


def test_a_collector_may_not_import(ledger, collector):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        import_statement_file(content=sample("mt940_two_statements.sta"), actor=collector)


def test_a_mornings_files_import_together_or_not_at_all(ledger):
    from banking.services import import_statement_files

    files = [("a.xml", sample("camt053_001_08_batch.xml")), ("b.sta", sample("mt940_two_statements.sta"))]
    with pytest.raises(ValidationError, match="bad.xml: line 60"):
        import_statement_files(files=[*files, ("bad.xml", sample("camt053_bad_amount.xml"))], actor=SYSTEM)
    assert not BankTransaction.objects.exists()

    result = import_statement_files(files=files, actor=SYSTEM)

    assert (result.statements, result.new, result.debits) == (3, 6, 1)
    assert status_of("INV-2026-00500")[0] == "paid" and status_of("INV-2026-00501")[0] == "paid"
