"""Writes to the ledger: invoices, payments and their allocations.

Each function runs in one transaction and either writes everything or nothing. Validation errors
are raised as django.core.exceptions.ValidationError with a message per field.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Round
from django.utils import timezone

from audit.records import Change, record_change, record_changes
from customers.access import Actor, Capability, require
from customers.bulk import insert_rows
from customers.changes import field_values, save_changed_fields
from customers.choices import CURRENCY_CODES
from customers.fields import CENT, MONEY_DIGITS, MONEY_PLACES
from customers.models import Customer
from customers.signals import announce_change

from .choices import InvoiceStatus
from .models import Allocation, Invoice, Payment


@dataclass(frozen=True)
class AllocationRequest:
    invoice_number: str
    amount: Decimal


UPSERT_FIELDS = ("customer", "issue_date", "due_date", "amount", "currency", "description")
# The invoice fields that precomputed per-customer figures depend on (customers.signals).
FIGURE_FIELDS = frozenset({"customer", "customer_id", "due_date", "amount", "currency", "status"})


def upsert_invoice(
    *,
    number: str,
    customer: Customer,
    issue_date: date,
    due_date: date,
    amount: Decimal,
    currency: str,
    description: str = "",
) -> tuple[Invoice, bool]:
    """Create the invoice with this number, or update it to these values. Returns (invoice, created).

    Re-sending the same values writes nothing (updated_at stays); a change writes only the fields
    that differ. An invoice's amount cannot drop below what is already allocated to it, and its
    currency cannot change once payments are allocated.
    """
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().filter(number=number).first()
        created = invoice is None
        if created:
            invoice = Invoice(number=number)
        else:
            data = InvoiceData(number, customer.account_number, issue_date, due_date, amount, currency)
            errors = (
                invoice_change_errors(invoice, item=data, customer_id=customer.pk)
                if amount is not None
                else {}
            )
            if errors:
                raise ValidationError(errors)
        before = field_values(invoice, (*UPSERT_FIELDS, "status"))
        owners = {invoice.customer_id, customer.pk}  # both, should a sync move it to another customer
        invoice.customer = customer
        invoice.issue_date = issue_date
        invoice.due_date = due_date
        invoice.amount = amount
        invoice.currency = currency
        invoice.description = description
        invoice.full_clean(exclude=["allocated_amount"], validate_unique=False)
        if invoice.status in (InvoiceStatus.OPEN, InvoiceStatus.PAID):
            invoice.status = _status_for_balance(invoice.amount, invoice.allocated_amount)
        if created:
            invoice.save()
        elif not FIGURE_FIELDS.intersection(save_changed_fields(invoice, before)):
            return invoice, created  # the same values write nothing; a new description concerns no figure
        issued = [day for day in (before.get("issue_date"), invoice.issue_date) if isinstance(day, date)]
        announce_change(customer_ids=owners, facts={"invoices"}, earliest_day=min(issued))
        return invoice, created


def record_payment(
    *,
    customer: Customer,
    reference: str,
    received_on: date,
    amount: Decimal,
    currency: str,
    allocations: Sequence[AllocationRequest] = (),
) -> tuple[Payment, bool]:
    """Record a payment and allocate it over invoices. Returns (payment, created).

    A payment with the same customer and reference already recorded is returned as it is: the ERP
    may send it twice. Any bad allocation rolls the whole payment back.
    """
    with transaction.atomic():
        existing = Payment.objects.filter(customer=customer, reference=reference).first()
        if existing:
            return existing, False
        payment = Payment(
            customer=customer, reference=reference, received_on=received_on, amount=amount, currency=currency
        )
        payment.full_clean(exclude=["allocated_amount"])
        payment.save()
        # Looked up in the payment's customer only: another customer's number is "no such invoice".
        invoices = Invoice.objects.filter(customer=customer).in_bulk(
            [a.invoice_number for a in allocations], field_name="number"
        )
        for index, request in enumerate(allocations):
            invoice = invoices.get(request.invoice_number)
            if invoice is None:
                raise ValidationError(
                    {
                        f"allocations[{index}].invoice": f"{customer.account_number} has no invoice "
                        f"numbered {request.invoice_number}."
                    }
                )
            try:
                _allocate_unannounced(payment=payment, invoice=invoice, amount=request.amount)
            except ValidationError as error:
                raise ValidationError({f"allocations[{index}]": error.messages}) from error
        announce_change(
            customer_ids={customer.pk},
            facts={"payments", "invoices"} if allocations else {"payments"},
            earliest_day=payment.received_on,
            added_payment_ids={payment.pk},
        )
        return payment, True


def allocate(*, payment: Payment, invoice: Invoice, amount: Decimal) -> Allocation:
    """Allocate part of a payment to an invoice, and mark the invoice paid when nothing is left.

    The database refuses an allocation that would exceed the payment or the invoice, even under
    concurrent writers; that refusal comes back as a ValidationError saying which.
    """
    allocation = _allocate_unannounced(payment=payment, invoice=invoice, amount=amount)
    # An allocation counts on past days from its payment's received day on (reports.ledger).
    announce_change(
        customer_ids={invoice.customer_id}, facts={"payments", "invoices"}, earliest_day=payment.received_on
    )
    return allocation


def _allocate_unannounced(*, payment: Payment, invoice: Invoice, amount: Decimal) -> Allocation:
    if amount is None or amount <= 0:
        raise ValidationError({"amount": "An allocation must be a positive amount."})
    if payment.customer_id != invoice.customer_id:
        raise ValidationError({"invoice": f"Invoice {invoice.number} belongs to another customer."})
    if payment.currency != invoice.currency:
        message = f"Invoice {invoice.number} is in {invoice.currency}, the payment in {payment.currency}."
        raise ValidationError({"invoice": message})
    try:
        with transaction.atomic():
            allocation = Allocation.objects.create(payment=payment, invoice=invoice, amount=amount)
            Invoice.objects.filter(pk=invoice.pk).update(allocated_amount=added_cents(amount))
            Payment.objects.filter(pk=payment.pk).update(allocated_amount=added_cents(amount))
    except IntegrityError as error:
        message = _over_allocation_message(payment, invoice, amount, error)
        raise ValidationError({"amount": message}) from error
    invoice.refresh_from_db(fields=["allocated_amount", "status"])
    payment.refresh_from_db(fields=["allocated_amount"])
    if invoice.status == InvoiceStatus.OPEN and invoice.allocated_amount >= invoice.amount:
        with transaction.atomic():
            Invoice.objects.filter(pk=invoice.pk).update(status=InvoiceStatus.PAID)
            record_change(invoice, {"status": (invoice.status, InvoiceStatus.PAID)})
        invoice.status = InvoiceStatus.PAID
    return allocation


def added_cents(amount: Decimal) -> Round:
    """allocated_amount + amount, rounded to the cent in the database: SQLite adds decimals as floats
    (33.33 + 66.67 = 100.00000000000001), which the CHECK against the amount would refuse."""
    return Round(F("allocated_amount") + amount, MONEY_PLACES)


def set_invoice_status(*, invoice: Invoice, status: str, actor: Actor) -> Invoice:
    """Dispute, write off, cancel or reopen an invoice; "paid" follows from allocations only.

    A credit decision: only a credit manager (customers.access: SET_INVOICE_STATUS).
    """
    require(actor, Capability.SET_INVOICE_STATUS)
    if status == InvoiceStatus.PAID:
        raise ValidationError({"status": "An invoice becomes paid through payments, not by hand."})
    if status not in InvoiceStatus.values:
        raise ValidationError({"status": f"Unknown status {status!r}."})
    if status == InvoiceStatus.OPEN:
        status = _status_for_balance(invoice.amount, invoice.allocated_amount)
    with transaction.atomic():
        before = Invoice.objects.select_for_update().values_list("status", flat=True).get(pk=invoice.pk)
        Invoice.objects.filter(pk=invoice.pk).update(status=status)
        record_change(invoice, {"status": (before, status)})
        # A written-off or cancelled invoice leaves every past day it counted on (the status has no date).
        announce_change(
            customer_ids={invoice.customer_id}, facts={"invoices"}, earliest_day=invoice.issue_date
        )
    invoice.status = status
    return invoice


def _status_for_balance(amount: Decimal, allocated: Decimal) -> str:
    return InvoiceStatus.PAID if allocated >= amount else InvoiceStatus.OPEN


def _over_allocation_message(
    payment: Payment, invoice: Invoice, amount: Decimal, error: IntegrityError
) -> str:
    text = str(error)
    if "allocation_once_per_payment_and_invoice" in text or "UNIQUE" in text.upper():
        return f"Payment {payment.reference} is already allocated to invoice {invoice.number}."
    invoice.refresh_from_db(fields=["allocated_amount"])
    payment.refresh_from_db(fields=["allocated_amount"])
    if "payment_not_over_allocated" in text:
        left = payment.amount - payment.allocated_amount
        return f"{amount} exceeds what is left of payment {payment.reference} ({left} {payment.currency})."
    left = invoice.amount - invoice.allocated_amount
    return f"{amount} exceeds the open amount of invoice {invoice.number} ({left} {invoice.currency})."


# --- Bulk sync: many invoices or payments at once, all or nothing -------------------------------
#
# The API's bulk endpoints and the CSV imports share these. Each batch is checked whole first (every
# item, against the request and the database), then written with bulk_create / bulk_update: a few
# statements per batch instead of one transaction per item. Callers that feed several batches (the
# CSV import) hold one transaction around them, so a bad row anywhere writes nothing.

BULK_LIMIT = 5000
MAX_MONEY = Decimal(10) ** (MONEY_DIGITS - MONEY_PLACES)
INVOICE_SYNC_FIELDS = ("customer_id", "issue_date", "due_date", "amount", "currency", "description")


@dataclass(frozen=True)
class InvoiceData:
    """One invoice as the ERP sends it: the customer by account number."""

    number: str
    account_number: str
    issue_date: date
    due_date: date
    amount: Decimal
    currency: str
    description: str = ""


@dataclass(frozen=True)
class PaymentData:
    """One payment as the ERP or bank sends it, with how it splits over invoices."""

    account_number: str
    reference: str
    received_on: date
    amount: Decimal
    currency: str
    allocations: tuple[AllocationRequest, ...] = ()


@dataclass
class BulkResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: "BulkResult") -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged


class BulkValidationError(Exception):
    """Items that failed, each as {"index": position, "key": its number or reference, "errors": {...}}."""

    def __init__(self, errors: list[dict]):
        super().__init__(f"{len(errors)} item(s) are invalid")
        self.errors = errors


class StoredInvoice(NamedTuple):
    """The columns of a stored invoice that a sync compares and writes (lighter than a model instance)."""

    id: int
    customer_id: int
    issue_date: date
    due_date: date
    amount: Decimal
    currency: str
    description: str
    allocated_amount: Decimal
    status: str
    updated_at: datetime


@dataclass
class InvoiceBatchPlan:
    to_create: list[tuple]  # NEW_INVOICE_COLUMNS, in order: cheaper than model instances by the million
    to_update: list[tuple[StoredInvoice, StoredInvoice]]  # (as read, as it will be)
    unchanged: int
    errors: list[dict]


def bulk_upsert_invoices(items: list[InvoiceData]) -> BulkResult:
    """Create or update every invoice by number, or none: raises BulkValidationError listing each bad item.

    Same rules as `upsert_invoice`; an item equal to what is stored is left alone (not even its
    updated_at changes), so re-sending a batch changes nothing.
    """
    with transaction.atomic():
        plan = check_invoice_batch(items, seen_numbers=set())
        if plan.errors:
            raise BulkValidationError(plan.errors)
        return write_invoice_batch(plan)


def check_invoice_batch(
    items: list[InvoiceData], *, seen_numbers: set[str], first_index: int = 0
) -> InvoiceBatchPlan:
    """Validate a batch against itself, `seen_numbers` (earlier batches) and the database; write nothing.

    Existing invoices are read without locks (locking a million rows on a re-import costs a write
    each); the UPDATE instead only applies where the invoice's payments and status are still what
    was checked, and a batch that finds one changed fails whole (see `update_invoices`).
    """
    customers = {
        number: (pk, currency)
        for number, pk, currency in Customer.objects.filter(
            account_number__in={item.account_number for item in items}
        ).values_list("account_number", "pk", "currency")
    }
    existing_query = Invoice.objects.filter(number__in={item.number for item in items})
    existing = {
        row[0]: StoredInvoice(*row[1:])
        for row in existing_query.values_list("number", *StoredInvoice._fields)
    }
    plan = InvoiceBatchPlan(to_create=[], to_update=[], unchanged=0, errors=[])
    now = timezone.now()
    for offset, item in enumerate(items):
        errors = invoice_item_errors(item, customers=customers, seen_numbers=seen_numbers)
        seen_numbers.add(item.number)
        invoice = existing.get(item.number)
        customer = customers.get(item.account_number)
        if not errors and invoice is not None:
            errors = invoice_change_errors(invoice, item=item, customer_id=customer[0])
        if errors:
            plan.errors.append({"index": first_index + offset, "key": item.number, "errors": errors})
            continue
        values = {
            "customer_id": customer[0],
            "issue_date": item.issue_date,
            "due_date": item.due_date,
            "amount": item.amount,
            "currency": item.currency,
            "description": item.description,
        }
        if invoice is None:
            plan.to_create.append(
                (item.number, *values.values(), Decimal("0.00"), InvoiceStatus.OPEN, now, now)
            )
        elif all(getattr(invoice, name) == value for name, value in values.items()):
            plan.unchanged += 1
        else:
            status = invoice.status
            if status in (InvoiceStatus.OPEN, InvoiceStatus.PAID):
                status = _status_for_balance(item.amount, invoice.allocated_amount)
            # `values` mixes the tuple's field types, which mypy cannot match per name.
            changed = invoice._replace(**values, status=status, updated_at=now)  # type: ignore[arg-type]
            plan.to_update.append((invoice, changed))
    return plan


def write_invoice_batch(plan: InvoiceBatchPlan) -> BulkResult:
    """Write a checked batch: new invoices in one COPY (PostgreSQL) or bulk INSERTs, changed ones in bulk."""
    with transaction.atomic():
        insert_invoices(plan.to_create)
        update_invoices(plan.to_update)
        record_status_changes(plan.to_update)
        announce_change(
            customer_ids=batch_customer_ids(plan), facts={"invoices"}, earliest_day=_earliest_issue(plan)
        )
    return BulkResult(created=len(plan.to_create), updated=len(plan.to_update), unchanged=plan.unchanged)


def _earliest_issue(plan: InvoiceBatchPlan) -> date | None:
    """The earliest issue date a batch creates or moves an invoice from or to: past days from it on change."""
    at = NEW_INVOICE_COLUMNS.index("issue_date")
    days = [row[at] for row in plan.to_create]
    days += [day for old, new in plan.to_update for day in (old.issue_date, new.issue_date)]
    return min(days, default=None)


def batch_customer_ids(plan: InvoiceBatchPlan) -> set[int]:
    """The customers whose invoices a batch creates or changes (old and new owner of a moved one)."""
    created = {row[NEW_INVOICE_COLUMNS.index("customer_id")] for row in plan.to_create}
    moved = [
        (old, new)
        for old, new in plan.to_update
        if any(getattr(old, name) != getattr(new, name) for name in FIGURE_FIELDS if name in old._fields)
    ]
    return created | {old.customer_id for old, _ in moved} | {new.customer_id for _, new in moved}


def record_status_changes(changes: list[tuple[StoredInvoice, StoredInvoice]]) -> None:
    """Audit entries for the synced invoices whose status moved (open <-> paid by a new amount).

    Only status is audited on invoices, so a sync of new invoices or of other fields writes no entry:
    a million-row import pays nothing for the audit trail unless statuses change.
    """
    moved = [(old, new) for old, new in changes if old.status != new.status]
    if not moved:
        return
    numbers = dict(Invoice.objects.filter(pk__in=[new.id for _, new in moved]).values_list("pk", "number"))
    record_changes(
        Invoice,
        (Change(new.id, new.customer_id, numbers[new.id], {"status": (old.status, new.status)})
         for old, new in moved),
    )  # fmt: skip


NEW_INVOICE_COLUMNS = (
    "number", *INVOICE_SYNC_FIELDS, "allocated_amount", "status", "created_at", "updated_at",
)  # fmt: skip


def insert_invoices(rows: list[tuple]) -> None:
    """Insert new invoices (NEW_INVOICE_COLUMNS). On PostgreSQL a COPY per batch, the fastest way in;
    the table's constraints still check every row (a bad one fails the whole transaction)."""
    if rows:
        insert_rows(Invoice, NEW_INVOICE_COLUMNS, rows)


UPDATE_FROM_VALUES = """
    UPDATE {table} AS invoice SET customer_id = v.customer_id, issue_date = v.issue_date,
        due_date = v.due_date, amount = v.amount, currency = v.currency, description = v.description,
        status = v.status, updated_at = v.updated_at
    FROM (VALUES %s) AS v(id, customer_id, issue_date, due_date, amount, currency, description, status,
                          updated_at, read_allocated, read_status)
    WHERE invoice.id = v.id AND invoice.allocated_amount = v.read_allocated AND invoice.status = v.read_status
"""
UPDATE_ROW = (
    "(%s::bigint, %s::bigint, %s::date, %s::date, %s::numeric, %s, %s, %s, %s::timestamptz, %s::numeric, %s)"
)


def update_invoices(changes: list[tuple[StoredInvoice, StoredInvoice]]) -> None:
    """Write changed invoices, each only if its payments and status are still as read.

    On PostgreSQL one UPDATE ... FROM (VALUES ...) per batch (Django's bulk_update builds a CASE per
    column over every row, many times slower). An invoice paid or disputed since it was read is not
    overwritten: the batch fails with an IntegrityError (a 409 in the API) and nothing is written.
    """
    if not changes:
        return
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        fields = [*INVOICE_SYNC_FIELDS, "status", "updated_at"]
        changed = [Invoice(id=new.id, **{name: getattr(new, name) for name in fields}) for _, new in changes]
        Invoice.objects.bulk_update(changed, fields, batch_size=1000)
        return
    from psycopg2.extras import execute_values

    rows = [
        (new.id, new.customer_id, new.issue_date, new.due_date, new.amount, new.currency, new.description,
         new.status, new.updated_at, old.allocated_amount, old.status)
        for old, new in changes
    ]  # fmt: skip
    with connection.cursor() as cursor:
        sql = UPDATE_FROM_VALUES.format(table=Invoice._meta.db_table)
        execute_values(cursor.cursor, sql, rows, template=UPDATE_ROW, page_size=len(rows))
        if cursor.cursor.rowcount != len(rows):
            raise IntegrityError("invoices were paid or their status changed while the sync checked them")


def invoice_item_errors(
    item: InvoiceData, *, customers: dict, seen_numbers: set[str]
) -> dict[str, list[str]]:
    """What is wrong with one invoice on its own (and against the request's other invoices)."""
    errors: dict[str, list[str]] = {}
    if not item.number or len(item.number) > 40:
        errors.setdefault("number", []).append("Give the invoice number, at most 40 characters.")
    elif item.number in seen_numbers:
        errors.setdefault("number", []).append(f"Invoice {item.number} appears more than once.")
    if item.account_number not in customers:
        errors.setdefault("customer", []).append(f"No customer with account number {item.account_number!r}.")
    errors.update(amount_errors(item.amount))
    if item.currency not in CURRENCY_CODES:
        errors.setdefault("currency", []).append(
            f"Unknown currency {item.currency!r}: use an ISO 4217 code such as EUR, USD or GBP."
        )
    if item.issue_date and item.due_date and item.due_date < item.issue_date:
        errors.setdefault("due_date", []).append("The due date cannot be before the issue date.")
    if len(item.description or "") > 300:
        errors.setdefault("description", []).append("At most 300 characters.")
    return errors


def invoice_change_errors(
    invoice: "Invoice | StoredInvoice", *, item: InvoiceData, customer_id: int
) -> dict[str, list[str]]:
    """What an update may not do to an invoice that payments are already allocated to."""
    if not invoice.allocated_amount:
        return {}
    errors: dict[str, list[str]] = {}
    if item.currency != invoice.currency or customer_id != invoice.customer_id:
        errors["currency"] = ["An invoice with payments allocated keeps its customer and currency."]
    if item.amount < invoice.allocated_amount:
        errors["amount"] = [f"Cannot be less than the {invoice.allocated_amount} already paid."]
    return errors


def amount_errors(amount: Decimal, *, field: str = "amount") -> dict[str, list[str]]:
    if amount is None:
        return {field: ["Give an amount."]}
    if not amount.is_finite() or amount <= 0:
        return {field: ["Must be a positive amount."]}
    if amount != amount.quantize(CENT) or amount >= MAX_MONEY:
        return {field: [f"At most {MONEY_DIGITS - MONEY_PLACES} digits and {MONEY_PLACES} decimals."]}
    return {}


@dataclass
class PaymentBatchPlan:
    payments: list[tuple[Payment, list[tuple[int, Decimal]]]]  # new payment, [(invoice id, amount)]
    unchanged: int
    errors: list[dict]


def bulk_record_payments(items: list[PaymentData]) -> BulkResult:
    """Record every payment with its allocations, or none: raises BulkValidationError listing each bad item.

    A payment already recorded for the customer with the same reference and values is left as it
    is (the ERP may send it again); the same reference with other values is an error.
    """
    with transaction.atomic():
        plan = check_payment_batch(items, seen_keys=set())
        if plan.errors:
            raise BulkValidationError(plan.errors)
        return write_payment_batch(plan)


def check_payment_batch(
    items: list[PaymentData], *, seen_keys: set, first_index: int = 0
) -> PaymentBatchPlan:
    """Validate a batch of payments and their allocations against each other and the database."""
    customers = dict(
        Customer.objects.filter(account_number__in={item.account_number for item in items}).values_list(
            "account_number", "pk"
        )
    )
    existing = {
        (payment.customer_id, payment.reference): payment
        for payment in Payment.objects.filter(
            customer_id__in=customers.values(), reference__in={item.reference for item in items}
        )
    }
    invoice_query = Invoice.objects.filter(
        number__in={a.invoice_number for item in items for a in item.allocations}
    ).order_by("pk")
    if transaction.get_connection().in_atomic_block:
        invoice_query = invoice_query.select_for_update()
    invoices = {invoice.number: invoice for invoice in invoice_query}
    still_open = {invoice.pk: invoice.amount - invoice.allocated_amount for invoice in invoices.values()}
    plan = PaymentBatchPlan(payments=[], unchanged=0, errors=[])
    for offset, item in enumerate(items):
        customer_id = customers.get(item.account_number)
        errors = _payment_item_errors(item, customer_id, seen_keys)
        seen_keys.add((item.account_number, item.reference))
        recorded = existing.get((customer_id, item.reference))
        if not errors and recorded is not None:
            if (recorded.received_on, recorded.amount, recorded.currency) != (
                item.received_on,
                item.amount,
                item.currency,
            ):
                errors["reference"] = [
                    f"Payment {item.reference} is already recorded with other values "
                    f"({recorded.amount} {recorded.currency} on {recorded.received_on})."
                ]
            else:
                plan.unchanged += 1
                continue
        splits = [] if errors else _allocation_splits(item, customer_id, invoices, still_open, errors)
        if errors:
            plan.errors.append({"index": first_index + offset, "key": item.reference, "errors": errors})
            continue
        payment = Payment(
            customer_id=customer_id,
            reference=item.reference,
            received_on=item.received_on,
            amount=item.amount,
            currency=item.currency,
            allocated_amount=sum((amount for _, amount in splits), Decimal("0")),
        )
        plan.payments.append((payment, splits))
    return plan


def _payment_item_errors(item: PaymentData, customer_id: int | None, seen_keys: set) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if customer_id is None:
        errors["customer"] = [f"No customer with account number {item.account_number!r}."]
    if not item.reference or len(item.reference) > 60:
        errors["reference"] = ["Give the payment reference, at most 60 characters."]
    elif (item.account_number, item.reference) in seen_keys:
        errors["reference"] = [f"Payment {item.reference} appears more than once for this customer."]
    errors.update(amount_errors(item.amount))
    if item.currency not in CURRENCY_CODES:
        errors["currency"] = [
            f"Unknown currency {item.currency!r}: use an ISO 4217 code such as EUR, USD or GBP."
        ]
    return errors


def _allocation_splits(item: PaymentData, customer_id: int, invoices: dict, still_open: dict, errors: dict):
    """Check a payment's allocations in order; return [(invoice id, amount)] and fill `errors`.

    `still_open` carries what is left on each invoice across the batch, so two payments in one
    request cannot together pay an invoice twice.
    """
    splits: list[tuple[int, Decimal]] = []
    left_on_payment = item.amount
    used: set[int] = set()
    for index, request in enumerate(item.allocations):
        field = f"allocations[{index}]"
        invoice = invoices.get(request.invoice_number)
        problem = amount_errors(request.amount).get("amount")
        if invoice is None or invoice.customer_id != customer_id:  # the same answer: nothing leaks
            problem = [f"{item.account_number} has no invoice numbered {request.invoice_number}."]
        elif invoice.currency != item.currency:
            problem = [f"Invoice {invoice.number} is in {invoice.currency}, the payment in {item.currency}."]
        elif invoice.pk in used:
            problem = [f"Invoice {invoice.number} is named twice in this payment."]
        elif not problem and request.amount > still_open[invoice.pk]:
            problem = [f"{request.amount} exceeds the open amount of invoice {invoice.number} "
                       f"({still_open[invoice.pk]} {invoice.currency})."]  # fmt: skip
        elif not problem and request.amount > left_on_payment:
            problem = [
                f"{request.amount} exceeds what is left of payment {item.reference} ({left_on_payment})."
            ]
        if problem:
            errors[field] = problem
            continue
        used.add(invoice.pk)
        splits.append((invoice.pk, request.amount))
        left_on_payment -= request.amount
    if errors:
        return []
    for invoice_id, amount in splits:
        still_open[invoice_id] -= amount
    return splits


def write_payment_batch(plan: PaymentBatchPlan) -> BulkResult:
    """Write checked payments, their allocations, and the invoices' running sums and statuses."""
    with transaction.atomic():
        payments = Payment.objects.bulk_create([payment for payment, _ in plan.payments], batch_size=1000)
        allocations = [
            Allocation(payment_id=payment.pk, invoice_id=invoice_id, amount=amount)
            for payment, (_, splits) in zip(payments, plan.payments, strict=True)
            for invoice_id, amount in splits
        ]
        Allocation.objects.bulk_create(allocations, batch_size=1000)
        add_to_invoices(allocations)
        announce_change(
            customer_ids={payment.customer_id for payment in payments},
            facts={"payments"},
            earliest_day=min((payment.received_on for payment in payments), default=None),
            added_payment_ids={payment.pk for payment in payments},
        )
    return BulkResult(created=len(payments), unchanged=plan.unchanged)


def add_to_invoices(allocations: list[Allocation]) -> None:
    """Raise the invoices' allocated sums by the new allocations, and mark fully paid open ones paid.

    One UPDATE that adds in the database (not a read-modify-write), so the CHECK on the invoice
    refuses an over-allocation even if another writer got in between.
    """
    added: dict[int, Decimal] = {}
    for allocation in allocations:
        added[allocation.invoice_id] = added.get(allocation.invoice_id, Decimal("0")) + allocation.amount
    if not added:
        return
    was_open = set(
        Invoice.objects.filter(pk__in=added, status=InvoiceStatus.OPEN).values_list("pk", flat=True)
    )
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        from psycopg2.extras import execute_values

        with connection.cursor() as cursor:
            sql = ADD_ALLOCATED.format(table=Invoice._meta.db_table)
            execute_values(cursor.cursor, sql, sorted(added.items()), template="(%s::bigint, %s::numeric)")
    else:
        for invoice_id, amount in sorted(added.items()):
            Invoice.objects.filter(pk=invoice_id).update(allocated_amount=added_cents(amount))
        Invoice.objects.filter(
            pk__in=added, status=InvoiceStatus.OPEN, allocated_amount__gte=F("amount")
        ).update(status=InvoiceStatus.PAID)
    # The audit trail: one entry per invoice these payments made paid (same transaction).
    paid = Invoice.objects.filter(pk__in=was_open, status=InvoiceStatus.PAID).values_list(
        "pk", "customer_id", "number"
    )
    record_changes(
        Invoice,
        (Change(pk, customer_id, number, {"status": (InvoiceStatus.OPEN, InvoiceStatus.PAID)})
         for pk, customer_id, number in paid),
    )  # fmt: skip


ADD_ALLOCATED = """
    UPDATE {table} AS invoice SET allocated_amount = invoice.allocated_amount + v.added,
        status = CASE WHEN invoice.status = 'open' AND invoice.allocated_amount + v.added >= invoice.amount
                      THEN 'paid' ELSE invoice.status END
    FROM (VALUES %s) AS v(id, added)
    WHERE invoice.id = v.id
"""
