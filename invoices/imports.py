"""CSV imports of invoices and payments: the same checks and writes as the API's bulk sync.

Invoices on PostgreSQL (the big files: a million rows in seconds) go through `staging`: the file is
streamed by COPY into a temporary table, checked in SQL a set at a time and merged with one INSERT and
one UPDATE. Elsewhere (SQLite, `make run`) and for payments, the file is streamed and handled in
batches of a few thousand rows; each batch is checked against itself, earlier batches and the
database, and written with bulk_create / bulk_update. Either way everything happens in one
transaction, so when any row is bad the import goes on checking (to report every bad row) but rolls
back: nothing is written. Both ways word their errors alike (the staged path formats its bad rows with
the functions below) and accept the same shapes: dates as YYYY-MM-DD, amounts as plain decimals.
"""

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import connection, transaction

from audit.context import Channel, audit_context
from customers.choices import CURRENCY_CODES

from . import services, staging
from .services import AllocationRequest, BulkResult, InvoiceData, PaymentData

INVOICE_COLUMNS = ("number", "account_number", "issue_date", "due_date", "amount", "currency")
INVOICE_OPTIONAL = ("description",)
PAYMENT_COLUMNS = ("account_number", "reference", "received_on", "amount", "currency")
PAYMENT_OPTIONAL = ("invoice_number", "allocated_amount")
DEFAULT_BATCH = 5000
# How a service's field name reads as a column of the file.
COLUMN_OF_FIELD = {"customer": "account_number", "number": "number", "reference": "reference"}
DATE_SHAPE = re.compile(staging.DATE_PATTERN)
AMOUNT_SHAPE = re.compile(staging.AMOUNT_PATTERN)


@dataclass(frozen=True)
class RowError:
    row: int  # line in the file; the header is line 1
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.reason}"


@dataclass
class ImportReport:
    rows: int = 0
    result: BulkResult = field(default_factory=BulkResult)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class RollBack(Exception):
    """Raised inside the import's transaction to undo it when a row was bad."""


def import_invoices(
    path: Path | str, *, batch_size: int = DEFAULT_BATCH, progress: Callable = None
) -> ImportReport:
    """Create or update the invoices of a CSV file by number, or none when any row is bad.

    Columns: number, account_number, issue_date, due_date (YYYY-MM-DD), amount (e.g. 1250.00),
    currency (ISO 4217), and optionally description. Re-importing the same file changes nothing.
    On PostgreSQL the rows are checked and merged in SQL (`staging`); `batch_size` is for the others.
    """
    if connection.vendor == "postgresql":
        return import_staged_invoices(path, progress=progress)
    return import_invoice_batches(path, batch_size=batch_size, progress=progress)


def import_invoice_batches(
    path: Path | str, *, batch_size: int = DEFAULT_BATCH, progress: Callable = None
) -> ImportReport:
    """The invoice import batch by batch through the bulk-sync services (any database; SQLite's way)."""
    report = ImportReport()
    seen: set[str] = set()

    def handle(batch: list[tuple[int, InvoiceData]]) -> None:
        plan = services.check_invoice_batch([item for _, item in batch], seen_numbers=seen)
        report.errors.extend(service_errors(plan.errors, [[row] for row, _ in batch]))
        if not report.errors:
            report.result.add(services.write_invoice_batch(plan))

    def batches(rows) -> Iterator[list[tuple[int, InvoiceData]]]:
        batch = []
        for row_number, row in rows:
            item = parse_invoice_row(row_number, row, report.errors)
            if item is not None:
                batch.append((row_number, item))
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    return run_import(path, INVOICE_COLUMNS, INVOICE_OPTIONAL, report, handle, batches, progress)


def import_payments(
    path: Path | str, *, batch_size: int = DEFAULT_BATCH, progress: Callable = None
) -> ImportReport:
    """Record the payments of a CSV file with their allocations, or none when any row is bad.

    Columns: account_number, reference, received_on (YYYY-MM-DD), amount, currency, and optionally
    invoice_number and allocated_amount. Consecutive rows with the same account number and reference
    are one payment split over several invoices (they repeat its date, amount and currency). A payment
    already recorded with the same values is left as it is, so re-importing changes nothing.
    """
    report = ImportReport()
    seen: set = set()

    def handle(batch: list[tuple[list[int], PaymentData]]) -> None:
        plan = services.check_payment_batch([item for _, item in batch], seen_keys=seen)
        report.errors.extend(service_errors(plan.errors, [rows for rows, _ in batch]))
        if not report.errors:
            report.result.add(services.write_payment_batch(plan))

    def batches(rows) -> Iterator[list[tuple[list[int], PaymentData]]]:
        batch, group = [], []
        for row_number, row in rows:
            key = (row.get("account_number", "").strip(), row.get("reference", "").strip())
            if group and key != group[0][2]:
                payment = payment_from_group(group, report.errors)
                if payment is not None:
                    batch.append(payment)
                group = []
                if len(batch) >= batch_size:
                    yield batch
                    batch = []
            group.append((row_number, row, key))
        if group:
            payment = payment_from_group(group, report.errors)
            if payment is not None:
                batch.append(payment)
        if batch:
            yield batch

    return run_import(path, PAYMENT_COLUMNS, PAYMENT_OPTIONAL, report, handle, batches, progress)


def import_staged_invoices(path: Path | str, *, progress: Callable = None) -> ImportReport:
    """The invoice import on PostgreSQL: stage the file by COPY, check it in SQL, merge in two statements."""
    report = ImportReport()
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file)
        columns = [column.strip() for column in next(reader, [])]
        report.errors.extend(check_header(columns, INVOICE_COLUMNS, INVOICE_OPTIONAL))
        if report.errors:
            return report

        def wrong_width(row_number: int) -> None:
            report.errors.append(RowError(row_number, "-", "Wrong number of columns."))

        try:
            with audit_context(channel=Channel.IMPORT), transaction.atomic():
                lines = count_rows(path)
                if staging.stage_file(path, columns, expected_rows=lines, progress=progress):
                    report.rows = lines
                else:
                    report.rows = staging.stage_rows(
                        reader, columns, on_bad_width=wrong_width, progress=progress
                    )
                for bad in staging.check_staged():
                    report.errors.extend(staged_row_errors(*bad))
                if report.errors:
                    report.errors.sort(key=lambda error: error.row)  # stable: a row's errors keep their order
                    raise RollBack
                report.result = staging.merge_checked()
        except RollBack:
            report.result = BulkResult()
    return report


def staged_row_errors(
    row_number: int, values: tuple, customer_id: int | None, given_before: bool, stored
) -> list[RowError]:
    """The messages for a row the SQL check refused, worded by the same functions as the batch path."""
    found: list[RowError] = []
    item = parse_invoice_row(row_number, dict(zip(staging.STAGED_COLUMNS, values, strict=True)), found)
    if item is not None:
        customers = {item.account_number: (customer_id, None)} if customer_id is not None else {}
        errors = services.invoice_item_errors(
            item, customers=customers, seen_numbers={item.number} if given_before else set()
        )
        if not errors and stored is not None:
            errors = services.invoice_change_errors(stored, item=item, customer_id=customer_id)
        found = service_errors([{"index": 0, "errors": errors}], [[row_number]])
    # The SQL and Python checks agree by design; should they not, the row is still refused, and says so.
    return found or [RowError(row_number, "-", "Refused by the import's checks; compare it with the others.")]


def run_import(path, required, optional, report: ImportReport, handle, batches, progress) -> ImportReport:
    """Stream the file's rows through `batches` into `handle` inside one transaction; roll back on errors."""
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        if reader.fieldnames:
            reader.fieldnames = [column.strip() for column in reader.fieldnames]
        header_errors = check_header(reader.fieldnames or [], required, optional)
        if header_errors:
            report.errors.extend(header_errors)
            return report

        def rows():
            for row_number, row in enumerate(reader, start=2):
                report.rows += 1
                if progress:
                    progress(1)
                if None in row or any(value is None for value in row.values()):
                    report.errors.append(RowError(row_number, "-", "Wrong number of columns."))
                    continue
                yield row_number, row

        try:
            # The audit trail: changes read "through import", by whoever runs it ("system" in a command).
            with audit_context(channel=Channel.IMPORT), transaction.atomic():
                for batch in batches(rows()):
                    handle(batch)
                if report.errors:
                    report.errors.sort(key=lambda error: error.row)  # stable: a row's errors keep their order
                    raise RollBack
        except RollBack:
            report.result = BulkResult()
    return report


def check_header(columns: list[str], required, optional) -> list[RowError]:
    columns = [column.strip() for column in columns]
    errors = [RowError(1, name, "Missing column.") for name in required if name not in columns]
    errors += [
        RowError(1, name, f"Unknown column; expected {', '.join(required + optional)}.")
        for name in columns
        if name not in required + optional
    ]
    errors += [RowError(1, name, "Given more than once.") for name in sorted(set(columns))
               if name and columns.count(name) > 1]  # fmt: skip
    return errors


def parse_invoice_row(row_number: int, row: dict, errors: list[RowError]) -> InvoiceData | None:
    found: list[RowError] = []
    values = {
        "number": text(row, "number", row_number, found),
        "account_number": text(row, "account_number", row_number, found),
        "issue_date": parse_date(row, "issue_date", row_number, found),
        "due_date": parse_date(row, "due_date", row_number, found),
        "amount": parse_amount(row, "amount", row_number, found),
        "currency": parse_currency(row, row_number, found),
        "description": (row.get("description") or "").strip(),
    }
    errors.extend(found)
    return None if found else InvoiceData(**values)


def payment_from_group(group: list[tuple[int, dict, tuple]], errors: list[RowError]):
    """One payment from its consecutive rows: (row numbers, PaymentData), or None when a row is bad."""
    found: list[RowError] = []
    first_row, first, _ = group[0]
    values = {
        "account_number": text(first, "account_number", first_row, found),
        "reference": text(first, "reference", first_row, found),
        "received_on": parse_date(first, "received_on", first_row, found),
        "amount": parse_amount(first, "amount", first_row, found),
        "currency": parse_currency(first, first_row, found),
    }
    allocations, rows = [], []
    for row_number, row, _ in group:
        rows.append(row_number)
        for column in ("received_on", "amount", "currency"):
            if (
                row_number != first_row
                and (row.get(column) or "").strip() != (first.get(column) or "").strip()
            ):
                found.append(
                    RowError(row_number, column, f"Differs from row {first_row} of the same payment.")
                )
        invoice_number = (row.get("invoice_number") or "").strip()
        if invoice_number:
            amount = parse_amount(row, "allocated_amount", row_number, found)
            allocations.append(AllocationRequest(invoice_number, amount))
        elif (row.get("allocated_amount") or "").strip():
            found.append(
                RowError(row_number, "invoice_number", "Name the invoice the amount is allocated to.")
            )
    errors.extend(found)
    if found:
        return None
    return rows, PaymentData(allocations=tuple(allocations), **values)


def service_errors(item_errors: list[dict], rows_of_items: list[list[int]]) -> list[RowError]:
    """The services' per-item errors as (row, column, reason), allocation errors on their own row."""
    result = []
    for error in item_errors:
        rows = rows_of_items[error["index"]]
        for name, messages in error["errors"].items():
            row, column = rows[0], COLUMN_OF_FIELD.get(name, name)
            if name.startswith("allocations["):
                position = int(name[len("allocations[") : name.index("]")])
                row, column = rows[min(position, len(rows) - 1)], "allocated_amount"
                if any("No invoice" in m or "belongs to" in m or "named twice" in m or " is in " in m
                       for m in messages):  # fmt: skip
                    column = "invoice_number"
            result.extend(RowError(row, column, message) for message in messages)
    return result


def text(row: dict, column: str, row_number: int, errors: list[RowError]) -> str:
    value = (row.get(column) or "").strip()
    if not value:
        errors.append(RowError(row_number, column, "Required."))
    return value


def parse_currency(row: dict, row_number: int, errors: list[RowError]) -> str:
    value = text(row, "currency", row_number, errors).upper()
    if value and value not in CURRENCY_CODES:
        errors.append(RowError(row_number, "currency", f"Unknown currency {value!r}: use an ISO 4217 code."))
    return value


def parse_date(row: dict, column: str, row_number: int, errors: list[RowError]) -> date | None:
    value = text(row, column, row_number, errors)
    if not value:
        return None
    try:
        if not DATE_SHAPE.fullmatch(value):  # not the other ISO 8601 forms fromisoformat takes
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        errors.append(RowError(row_number, column, f"{value!r} is not a date; use YYYY-MM-DD."))
        return None


def parse_amount(row: dict, column: str, row_number: int, errors: list[RowError]) -> Decimal | None:
    value = text(row, column, row_number, errors)
    if not value:
        return None
    try:
        if not AMOUNT_SHAPE.fullmatch(value):  # plain decimals only: no exponent, NaN or Infinity
            raise InvalidOperation(value)
        amount = Decimal(value)
    except InvalidOperation:
        errors.append(RowError(row_number, column, f"{value!r} is not an amount; use e.g. 1250.00."))
        return None
    problem = services.amount_errors(amount).get("amount")
    if problem:
        errors.append(RowError(row_number, column, problem[0]))
        return None
    return amount


def count_rows(path: Path | str) -> int:
    """Data rows in the file (lines less the header), counted fast for the progress bar."""
    lines, last = 0, b""
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last not in (b"", b"\n"):  # a last line without its line break is a line all the same
        lines += 1
    return max(lines - 1, 0)
