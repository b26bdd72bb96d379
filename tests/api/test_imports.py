"""CSV imports: good files are imported once, a bad row names its row and column and writes nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from invoices import imports
from invoices.imports import import_invoices, import_payments
from invoices.models import Invoice, Payment
from invoices.services import allocate
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory

pytestmark = pytest.mark.django_db

INVOICE_HEADER = "number,account_number,issue_date,due_date,amount,currency,description\n"
PAYMENT_HEADER = "account_number,reference,received_on,amount,currency,invoice_number,allocated_amount\n"


@pytest.fixture
def customers(db):
    return CustomerFactory(account_number="ACC-1"), CustomerFactory(account_number="ACC-2", currency="USD")


def write(tmp_path, text: str, name="file.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def invoice_rows(count: int) -> str:
    return "".join(
        f"F-{n:05d},ACC-1,2026-10-01,2026-10-31,{100 + n}.50,EUR,Order {n}\n" for n in range(count)
    )


def test_importing_invoices_creates_them_and_reimporting_changes_nothing(tmp_path, customers, capsys):
    path = write(tmp_path, INVOICE_HEADER + invoice_rows(120))
    call_command("import_invoices", str(path), "--batch-size", "50", "--no-progress")
    assert "120 rows" in capsys.readouterr().out
    assert Invoice.objects.count() == 120
    assert Invoice.objects.get(number="F-00007").amount == Decimal("107.50")
    stamps = dict(Invoice.objects.values_list("number", "updated_at"))
    report = import_invoices(path, batch_size=50)
    assert (report.result.created, report.result.updated, report.result.unchanged) == (0, 0, 120)
    assert dict(Invoice.objects.values_list("number", "updated_at")) == stamps


def test_one_bad_row_writes_nothing_and_each_error_names_row_and_column(tmp_path, customers):
    rows = invoice_rows(60).splitlines(keepends=True)
    rows[10] = "F-BAD1,ACC-1,2026-10-01,2026-09-01,10.00,EUR,\n"  # due before issue: file row 12
    rows[20] = "F-BAD2,NOBODY,2026-10-01,2026-10-31,10.00,EUR,\n"  # file row 22
    rows[30] = "F-BAD3,ACC-1,01-10-2026,2026-10-31,-4,EUX,\n"  # file row 32
    rows[40] = rows[0]  # the same number twice: file row 42
    report = import_invoices(write(tmp_path, INVOICE_HEADER + "".join(rows)), batch_size=25)
    assert [str(error) for error in report.errors] == [
        "row 12, column due_date: The due date cannot be before the issue date.",
        "row 22, column account_number: No customer with account number 'NOBODY'.",
        "row 32, column issue_date: '01-10-2026' is not a date; use YYYY-MM-DD.",
        "row 32, column amount: Must be a positive amount.",
        "row 32, column currency: Unknown currency 'EUX': use an ISO 4217 code.",
        "row 42, column number: Invoice F-00000 appears more than once.",
    ]
    assert not Invoice.objects.exists()


def test_the_command_lists_bad_rows_and_fails(tmp_path, customers, capsys):
    path = write(tmp_path, INVOICE_HEADER + "F-1,ACC-1,2026-10-01,2026-10-31,abc,EUR,\n")
    with pytest.raises(CommandError, match="1 error"):
        call_command("import_invoices", str(path), "--no-progress")
    assert "row 2, column amount: 'abc' is not an amount" in capsys.readouterr().err


def test_a_file_with_a_missing_or_unknown_column_is_refused(tmp_path, customers):
    report = import_invoices(write(tmp_path, "number,account,amount\nF-1,ACC-1,10\n"))
    assert {(e.row, e.column) for e in report.errors} >= {
        (1, "account_number"),
        (1, "account"),
        (1, "due_date"),
    }


def test_payments_split_over_invoices_on_consecutive_rows(tmp_path, customers):
    InvoiceFactory(number="F-1", customer=customers[0], amount=Decimal("100.00"))
    InvoiceFactory(number="F-2", customer=customers[0], amount=Decimal("50.00"))
    text = (
        PAYMENT_HEADER
        + "ACC-1,BANK-1,2026-11-20,150.00,EUR,F-1,100.00\n"
        + "ACC-1,BANK-1,2026-11-20,150.00,EUR,F-2,50.00\n"
        + "ACC-2,BANK-2,2026-11-21,75.00,USD,,\n"
    )
    path = write(tmp_path, text)
    report = import_payments(path)
    assert report.ok and report.result.created == 2
    payment = Payment.objects.get(reference="BANK-1")
    assert sorted(a.invoice.number for a in payment.allocations.all()) == ["F-1", "F-2"]
    assert set(Invoice.objects.values_list("status", flat=True)) == {"paid"}
    again = import_payments(path)
    assert again.ok and again.result.unchanged == 2 and Payment.objects.count() == 2


def test_a_payment_allocated_over_the_open_amount_is_refused_with_its_row(tmp_path, customers):
    InvoiceFactory(number="F-1", customer=customers[0], amount=Decimal("100.00"))
    text = (
        PAYMENT_HEADER
        + "ACC-2,OK-1,2026-11-20,5.00,USD,,\n"
        + "ACC-1,BANK-1,2026-11-20,150.00,EUR,F-1,120.00\n"
    )
    report = import_payments(write(tmp_path, text))
    assert [str(e) for e in report.errors] == [
        "row 3, column allocated_amount: 120.00 exceeds the open amount of invoice F-1 (100.00 EUR)."
    ]
    assert not Payment.objects.exists()


# --- Big files: the same answers on every database (PostgreSQL checks and merges them in SQL) -----


def test_a_bad_row_deep_in_a_big_file_names_its_row_and_writes_nothing(tmp_path, customers):
    rows = invoice_rows(3000).splitlines(keepends=True)
    rows[2497] = "F-BAD,NOBODY,2026-10-01,2026-10-31,10.00,EUR,\n"  # file row 2499
    rows[2800] = "F-SHORT,ACC-1,2026-10-01\n"  # file row 2802
    report = import_invoices(write(tmp_path, INVOICE_HEADER + "".join(rows)))
    assert [str(error) for error in report.errors] == [
        "row 2499, column account_number: No customer with account number 'NOBODY'.",
        "row 2802, column -: Wrong number of columns.",
    ]
    assert report.rows == 3000 and report.result.created == 0
    assert not Invoice.objects.exists()


def test_reimporting_a_big_file_writes_nothing_and_a_changed_row_updates_only_that_invoice(
    tmp_path, customers
):
    path = write(tmp_path, INVOICE_HEADER + invoice_rows(3000))
    assert import_invoices(path).result.created == 3000
    stamps = dict(Invoice.objects.values_list("number", "updated_at"))
    again = import_invoices(path)
    assert (again.result.created, again.result.updated, again.result.unchanged) == (0, 0, 3000)
    assert dict(Invoice.objects.values_list("number", "updated_at")) == stamps
    changed = write(tmp_path, INVOICE_HEADER + invoice_rows(3000).replace("F-00042,ACC-1", "F-00042,ACC-2"))
    result = import_invoices(changed).result
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2999)
    assert Invoice.objects.get(number="F-00042").customer == customers[1]
    assert {n for n, stamp in Invoice.objects.values_list("number", "updated_at") if stamp != stamps[n]} == {
        "F-00042"
    }


def test_values_are_dates_as_yyyy_mm_dd_and_plain_decimal_amounts_only(tmp_path, customers):
    text = INVOICE_HEADER + (
        "F-1, ACC-1 ,2024-02-29,2024-03-31, 10.5 ,eur,  Padded  \n"  # spaces around values are dropped
        "F-2,ACC-1,2026-02-01,2026-02-29,10.00,EUR,\n"  # no 29 February in 2026
        "F-3,ACC-1,20261001,2026-10-31,1e3,EUR,\n"
        "F-4,ACC-1,2026-10-01,2026-10-31,NaN,EUR,\n"
        "F-5,ACC-1,2026-10-01,2026-10-31,10.001,EUR,\n"
        "F-6,ACC-1,2026-10-01,2026-10-31,1000000000000.00,EUR,\n"
        f"{'F' * 41},ACC-1,2026-10-01,2026-10-31,10.00,EUR,{'x' * 301}\n"
    )
    report = import_invoices(write(tmp_path, text))
    assert [str(error) for error in report.errors] == [
        "row 3, column due_date: '2026-02-29' is not a date; use YYYY-MM-DD.",
        "row 4, column issue_date: '20261001' is not a date; use YYYY-MM-DD.",
        "row 4, column amount: '1e3' is not an amount; use e.g. 1250.00.",
        "row 5, column amount: 'NaN' is not an amount; use e.g. 1250.00.",
        "row 6, column amount: At most 12 digits and 2 decimals.",
        "row 7, column amount: At most 12 digits and 2 decimals.",
        "row 8, column number: Give the invoice number, at most 40 characters.",
        "row 8, column description: At most 300 characters.",
    ]
    assert import_invoices(write(tmp_path, INVOICE_HEADER + text.splitlines(keepends=True)[1])).ok
    invoice = Invoice.objects.get()
    assert (invoice.customer, invoice.amount, invoice.currency, invoice.description) == (
        customers[0],
        Decimal("10.50"),
        "EUR",
        "Padded",
    )


def test_rows_are_numbered_as_records_when_a_line_is_blank_or_a_value_spans_lines(tmp_path, customers):
    text = INVOICE_HEADER + (
        'F-1,ACC-1,2026-10-01,2026-10-31,10.00,EUR,"two\nlines"\n\nF-2,ACC-1,2026-10-01,2026-10-31,abc,EUR,\n'
    )
    report = import_invoices(write(tmp_path, text))
    assert [str(error) for error in report.errors] == [
        "row 3, column amount: 'abc' is not an amount; use e.g. 1250.00."
    ]
    assert import_invoices(write(tmp_path, text.replace("abc", "10.00"))).result.created == 2
    assert Invoice.objects.get(number="F-1").description == "two\nlines"


def test_an_invoice_with_payments_keeps_its_currency_and_cannot_drop_below_what_is_paid(tmp_path, customers):
    invoice = InvoiceFactory(number="F-1", customer=customers[0], amount=Decimal("100.00"), currency="EUR")
    allocate(
        payment=PaymentFactory(customer=customers[0], currency="EUR"), invoice=invoice, amount=Decimal("60")
    )
    text = INVOICE_HEADER + "F-1,ACC-1,2026-10-01,2026-10-31,50.00,USD,\n"
    report = import_invoices(write(tmp_path, text))
    assert [str(error) for error in report.errors] == [
        "row 2, column currency: An invoice with payments allocated keeps its customer and currency.",
        "row 2, column amount: Cannot be less than the 60.00 already paid.",
    ]
    paid = import_invoices(write(tmp_path, text.replace("50.00,USD", "60.00,EUR")))
    assert paid.result.updated == 1
    invoice.refresh_from_db()
    assert (invoice.amount, invoice.status) == (Decimal("60.00"), "paid")


def test_a_column_given_twice_is_refused(tmp_path, customers):
    report = import_invoices(write(tmp_path, INVOICE_HEADER.replace("\n", ",amount\n")))
    assert [str(error) for error in report.errors] == ["row 1, column amount: Given more than once."]


def test_the_sql_check_and_the_batch_check_give_the_same_errors(tmp_path, customers, postgres_only):
    invoice = InvoiceFactory(number="F-PAID", customer=customers[0], amount=Decimal("100.00"), currency="EUR")
    allocate(
        payment=PaymentFactory(customer=customers[0], currency="EUR"), invoice=invoice, amount=Decimal("60")
    )
    text = INVOICE_HEADER + (
        "F-1,ACC-1,2026-10-01,2026-10-31,10.00,EUR,\n"
        ",,,,,,\n"
        "F-1,ACC-1,2026-10-01,2026-10-31,10.00,EUR,\n"
        "F-2,NOBODY,2026-10-31,2026-10-01,0,EUR,\n"
        "F-3,NOBODY,2026-10-31,2026-10-01,5,EUR,\n"
        "F-4,ACC-1,2026-13-01,2026-00-10,+5.,usd,\n"
        "F-5,ACC-1,0000-01-01,2026-01-32,.5,XXX,\n"
        "F-PAID,ACC-2,2026-10-01,2026-10-31,5.00,USD,\n"
        "F-6,ACC-1,2026-10-01,2026-10-31,1_000,EUR,\n"
        "F-7,ACC-1,2026-10-01\n"
    )
    path = write(tmp_path, text)
    staged, batches = imports.import_staged_invoices(path), imports.import_invoice_batches(path)
    assert len(staged.errors) == 19
    assert [str(error) for error in staged.errors] == [str(error) for error in batches.errors]
    assert not Invoice.objects.exclude(number="F-PAID").exists()


def test_dates_and_amounts_a_database_would_read_are_refused_unless_plain(tmp_path, customers):
    text = INVOICE_HEADER + (
        "F-1,ACC-1,20261001,2026-10-31,100.00,EUR,\n"
        "F-2,ACC-1,today,2026-9-30,100.00,EUR,\n"
        "F-3,ACC-1,2026-10-01,2026-10-31,1e3,EUR,\n"
        "F-4,ACC-1,2026-10-01,2026-10-31,Infinity,EUR,\n"
        "F-5,ACC-1,2026-10-01,2026-10-31,+7.,EUR,\n"  # a plain decimal all the same
    )
    report = import_invoices(write(tmp_path, text))
    assert [str(error) for error in report.errors] == [
        "row 2, column issue_date: '20261001' is not a date; use YYYY-MM-DD.",
        "row 3, column issue_date: 'today' is not a date; use YYYY-MM-DD.",
        "row 3, column due_date: '2026-9-30' is not a date; use YYYY-MM-DD.",
        "row 4, column amount: '1e3' is not an amount; use e.g. 1250.00.",
        "row 5, column amount: 'Infinity' is not an amount; use e.g. 1250.00.",
    ]
    assert not Invoice.objects.exists()


def test_a_file_saved_with_a_byte_order_mark_and_windows_line_breaks_imports(tmp_path, customers):
    text = "\ufeff" + (INVOICE_HEADER + invoice_rows(3)).replace("\n", "\r\n")
    path = tmp_path / "excel.csv"
    path.write_bytes(text.encode("utf-8"))
    report = import_invoices(path)
    assert report.ok and report.result.created == 3
    assert Invoice.objects.get(number="F-00002").description == "Order 2"


def test_quotes_inside_a_value_are_kept_as_a_csv_reader_reads_them(tmp_path, customers):
    text = INVOICE_HEADER + (
        'F-1,ACC-1,2026-10-01,2026-10-31,10.00,EUR,Order "A" of May\n'
        'F-2,ACC-1,2026-10-01,2026-10-31,10.00,EUR,"Quoted, with a ""comma"""\n'
    )
    assert import_invoices(write(tmp_path, text)).result.created == 2
    assert dict(Invoice.objects.values_list("number", "description")) == {
        "F-1": 'Order "A" of May',
        "F-2": 'Quoted, with a "comma"',
    }


@pytest.fixture
def announced():
    """Every customer_facts_changed the test causes, as (customer ids, facts)."""
    from customers.signals import customer_facts_changed

    sent = []

    def record(sender, *, customer_ids, facts, **kwargs):
        sent.append((set(customer_ids), set(facts)))

    customer_facts_changed.connect(record, dispatch_uid="test-announced")
    yield sent
    customer_facts_changed.disconnect(dispatch_uid="test-announced")


def test_the_sql_import_tells_new_invoices_from_changed_ones_and_both_customers_of_a_move(
    tmp_path, customers, postgres_only, announced
):
    from calls.models import Standing

    first, _ = customers
    other = CustomerFactory(account_number="ACC-3")
    announced.clear()
    import_invoices(write(tmp_path, INVOICE_HEADER + invoice_rows(3)))
    # New invoices only: their customer's figures are restated, but nothing was paid on them, so the
    # worth-it scores (and their currency's re-rank) are left alone ("new_invoices", not "invoices").
    assert announced == [({first.pk}, {"new_invoices"})]
    assert Standing.objects.get(customer=first).oldest_open_due_on == dt.date(2026, 10, 31)
    announced.clear()
    moved = INVOICE_HEADER + "F-00001,ACC-3,2026-10-01,2026-10-31,101.50,EUR,Order 1\n"
    assert import_invoices(write(tmp_path, moved, name="moved.csv")).result.updated == 1
    # The invoice left one customer for another: both are restated, as a change.
    assert announced == [({first.pk, other.pk}, {"invoices"})]
    assert Standing.objects.get(customer=other).oldest_open_due_on == dt.date(2026, 10, 31)
    assert Invoice.objects.filter(customer=first).count() == 2
