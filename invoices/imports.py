"""CSV imports of invoices and payments: the same checks and writes as the API's bulk sync.

Design for big files (a million rows): the file is streamed and handled in batches of a few
thousand rows; each batch is checked against itself, earlier batches and the database, and written
with bulk_create / bulk_update. Everything happens in one transaction, so when any row is bad the
import goes on checking (to report every bad row) but rolls back: nothing is written. Memory holds
one batch of model objects plus the set of keys seen so far (to catch a number given twice).
"""

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction

from audit.context import Channel, audit_context
from customers.choices import CURRENCY_CODES

from . import services
from .services import AllocationRequest, BulkResult, InvoiceData, PaymentData

INVOICE_COLUMNS = ("number", "account_number", "issue_date", "due_date", "amount", "currency")
INVOICE_OPTIONAL = ("description",)
PAYMENT_COLUMNS = ("account_number", "reference", "received_on", "amount", "currency")
PAYMENT_OPTIONAL = ("invoice_number", "allocated_amount")
DEFAULT_BATCH = 5000
# How a service's field name reads as a column of the file.
COLUMN_OF_FIELD = {"customer": "account_number", "number": "number", "reference": "reference"}


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
    """
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


def run_import(path, required, optional, report: ImportReport, handle, batches, progress) -> ImportReport:
    """Stream the file's rows through `batches` into `handle` inside one transaction; roll back on errors."""
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
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
        return date.fromisoformat(value)
    except ValueError:
        errors.append(RowError(row_number, column, f"{value!r} is not a date; use YYYY-MM-DD."))
        return None


def parse_amount(row: dict, column: str, row_number: int, errors: list[RowError]) -> Decimal | None:
    value = text(row, column, row_number, errors)
    if not value:
        return None
    try:
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
    lines = 0
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            lines += chunk.count(b"\n")
    return max(lines - 1, 0)
