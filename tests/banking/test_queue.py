"""The cash queue: confirming a suggestion, matching by hand, splitting, learning the IBAN, scope, and
what dunning and the worklist see once the bank statement paid an invoice."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings

from banking.choices import AccountSource, TransactionStatus
from banking.models import BankTransaction, CustomerBankAccount
from banking.services import Part, confirm_by_hand, confirm_suggestion, import_statement_file
from calls.models import Standing
from customers.access import SYSTEM
from invoices.models import Invoice

from .conftest import sample

pytestmark = pytest.mark.django_db

# Bakker pays from an account nobody knows yet, naming no invoice: a name and amount match, queued; then a
# pool account pays for two customers at once: unidentified.
UNKNOWN_ACCOUNT = b""":20:STMT2611250001
:25:NL20INGB0001234567
:28C:00233/1
:60F:C261124EUR0,00
:61:2611251125C480,00NTRFNONREF//B6K25A001
:86:166?00SEPA-GUTSCHRIFT?20SVWZ+Zahlung Rechnung?31NL44RABO0123456789?32BAKKER LOGISTICS
:61:2611251125C2780,00NTRFNONREF//B6K25A002
:86:166?00SEPA-GUTSCHRIFT?20SVWZ+Sammelzahlung?31NL44RABO0123456789?32Acme and Bakker pool
:62F:C261125EUR3260,00
-
"""


def queued(reference: str) -> BankTransaction:
    return BankTransaction.objects.get(entry_reference=reference)


def test_a_name_match_waits_with_its_suggestions_and_one_click_applies_it_and_learns_the_iban(
    ledger, credit_manager
):
    result = import_statement_file(content=UNKNOWN_ACCOUNT, actor=SYSTEM)
    assert (result.queued, result.unidentified, result.applied) == (1, 1, 0)
    line = queued("B6K25A001")
    assert line.status == TransactionStatus.QUEUED and line.customer == ledger["bakker"]
    top = line.suggestions[0]
    assert top["account_number"] == "BAKK01" and top["splits"] == [
        {"invoice_number": "INV-2026-00501", "amount": "480.00"}
    ]
    assert "the amount equals the open amount of INV-2026-00501, the only one" in top["reasons"]

    confirm_suggestion(transaction_id=line.pk, index=0, actor=credit_manager)

    line.refresh_from_db()
    assert line.status == TransactionStatus.CONFIRMED and line.payments.get().customer == ledger["bakker"]
    assert Invoice.objects.get(number="INV-2026-00501").status == "paid"
    learned = CustomerBankAccount.objects.get(iban="NL44RABO0123456789")
    assert (learned.customer, learned.source) == (ledger["bakker"], AccountSource.LEARNED)
    with pytest.raises(ValidationError, match="already confirmed by hand"):
        confirm_suggestion(transaction_id=line.pk, index=0, actor=credit_manager)


def test_a_payment_split_over_two_customers_writes_one_payment_each(ledger, credit_manager):
    import_statement_file(content=UNKNOWN_ACCOUNT, actor=SYSTEM)
    line = queued("B6K25A002")
    parts = [
        Part("ACME01", Decimal("1250.00"), ("INV-2026-00412",)),
        Part("BAKK01", Decimal("1530.00"), ("INV-2026-00500",)),
    ]

    confirm_by_hand(transaction_id=line.pk, parts=parts, actor=credit_manager)

    payments = {
        p.customer.account_number: (p.amount, p.allocated_amount) for p in queued("B6K25A002").payments.all()
    }
    assert payments == {
        "ACME01": (Decimal("1250.00"), Decimal("1250.00")),
        "BAKK01": (Decimal("1530.00"), Decimal("1530.00")),
    }
    assert Invoice.objects.get(number="INV-2026-00412").status == "paid"
    bakker = Invoice.objects.get(number="INV-2026-00500")
    assert (bakker.status, bakker.amount - bakker.allocated_amount) == ("open", Decimal("470.00"))
    assert not CustomerBankAccount.objects.filter(
        iban="NL44RABO0123456789"
    ).exists()  # a pool teaches nothing


def test_parts_that_do_not_add_up_are_refused_and_nothing_is_written(ledger, credit_manager):
    import_statement_file(content=UNKNOWN_ACCOUNT, actor=SYSTEM)
    line = queued("B6K25A002")
    parts = [Part("ACME01", Decimal("100.00"), ()), Part("NOPE", Decimal("5.00"), ())]

    with pytest.raises(ValidationError) as refused:
        confirm_by_hand(transaction_id=line.pk, parts=parts, actor=credit_manager)

    assert (
        "No customer with account number 'NOPE' in your portfolio." in refused.value.message_dict["parts[1]"]
    )
    assert (
        queued("B6K25A002").status == TransactionStatus.UNIDENTIFIED
        and not queued("B6K25A002").payments.exists()
    )


def test_a_collector_works_only_the_lines_of_their_portfolio(ledger, collector):
    import_statement_file(content=UNKNOWN_ACCOUNT, actor=SYSTEM)
    line = queued("B6K25A001")
    with pytest.raises(BankTransaction.DoesNotExist):
        confirm_suggestion(transaction_id=line.pk, index=0, actor=collector)
    ledger["bakker"].collector = collector
    ledger["bakker"].save()

    confirm_suggestion(transaction_id=line.pk, index=0, actor=collector)
    assert queued("B6K25A001").status == TransactionStatus.CONFIRMED


def test_a_finance_lead_may_not_confirm(ledger, finance_lead):
    import_statement_file(content=UNKNOWN_ACCOUNT, actor=SYSTEM)
    with pytest.raises(PermissionDenied):
        confirm_suggestion(transaction_id=queued("B6K25A001").pk, index=0, actor=finance_lead)


@override_settings(BANKING_SHORT_PAYMENT="write_off")
def test_a_fee_is_written_off_when_the_setting_says_so_and_a_credit_manager_confirms(ledger, credit_manager):
    short = UNKNOWN_ACCOUNT.replace(b"C480,00", b"C472,00").replace(b"EUR3260,00", b"EUR3252,00")
    import_statement_file(content=short, actor=SYSTEM)
    line = queued("B6K25A001")
    assert line.suggestions[0]["short_invoices"] == ["INV-2026-00501"]

    confirm_suggestion(transaction_id=line.pk, index=0, actor=credit_manager)

    assert Invoice.objects.get(number="INV-2026-00501").status == "written_off"


@override_settings(BANKING_SHORT_PAYMENT="write_off")
def test_the_system_never_writes_off_an_automatic_fee(ledger):
    import_statement_file(content=sample("camt053_001_08_batch.xml"), actor=SYSTEM)

    assert Invoice.objects.get(number="INV-2026-00412").status == "open"
    assert "only a credit manager may write off" in BankTransaction.objects.get(entry_reference="N-1").reason


def test_the_worklist_sees_an_invoice_paid_by_the_statement_the_same_day(ledger):
    acme = ledger["acme"]
    before = Standing.objects.get(customer=acme).oldest_open_due_on
    import_statement_file(content=sample("camt053_001_02_two_statements.xml"), actor=SYSTEM)

    standing = Standing.objects.get(customer=acme)
    assert before == Invoice.objects.get(number="INV-2026-00412").due_date
    assert standing.oldest_open_due_on == Invoice.objects.get(number="INV-2026-00414").due_date
