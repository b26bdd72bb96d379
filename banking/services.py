"""Writes of the banking app: import a statement file, apply what the matcher is sure of, confirm the rest.

Payments are written by `invoices.services` exactly as the API writes them (a Payment with its
Allocations, the invoices' sums and statuses, `announce_change` for the worklist and dunning), under
the reference `BANK-<transaction id>`: unique per customer, so applying a line twice finds the payment
already there.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from customers.access import Actor, Capability, may, require, scope_to_portfolio
from customers.models import Customer
from invoices import services as invoice_services
from invoices.choices import InvoiceStatus
from invoices.models import Invoice, Payment

from . import matching, selectors
from .choices import AccountSource, Direction, ShortPayment, TransactionStatus
from .models import BankStatement, BankTransaction, CustomerBankAccount
from .parsers import ParsedStatement, StatementFileError, parse_statement_file
from .parsers.base import clean_iban


@dataclass
class ImportResult:
    statements: int = 0
    new: int = 0
    known: int = 0  # already imported: a re-import adds nothing
    applied: int = 0
    queued: int = 0
    unidentified: int = 0
    debits: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.statements} statement(s): {self.new} new transaction(s), {self.known} already imported; "
            f"{self.applied} applied, {self.queued} queued, {self.unidentified} unidentified payer(s), "
            f"{self.debits} debit(s) kept."
        )


def rules() -> matching.Rules:
    return matching.Rules(
        auto_apply=settings.BANKING_AUTO_APPLY_CONFIDENCE,
        fee_tolerance=Decimal(settings.BANKING_FEE_TOLERANCE),
    )


def import_statement_file(*, content: bytes, file_name: str = "", actor: Actor) -> ImportResult:
    """Import every statement in a camt.053 or MT940 file and match its new credit lines.

    A file that does not parse is refused whole (ValidationError naming the line and element or tag);
    nothing is written. Lines already imported (same account, statement id, entry reference and detail
    number) are skipped, so a re-import adds nothing. Sure matches are applied at once; the rest wait.
    """
    return import_statement_files(files=[(file_name, content)], actor=actor)


def import_statement_files(*, files: list[tuple[str, bytes]], actor: Actor) -> ImportResult:
    """Several files (a morning's statements) as one import: the ledger is read once for all of them.
    All or nothing: one refused file refuses them all, its name in the message."""
    require(actor, Capability.SYNC_LEDGER)
    parsed = []
    for file_name, content in files:
        try:
            parsed.append((file_name, parse_statement_file(content, file_name)))
        except StatementFileError as error:
            where = f"{file_name}: " if len(files) > 1 else ""
            raise ValidationError({"file": [f"{where}{error}"]}) from error
    with transaction.atomic():
        result = ImportResult(statements=sum(len(statements) for _, statements in parsed))
        rows = [row for file_name, statements in parsed for row in _new_rows(statements, file_name, result)]
        sure = _match(rows, result)
        # Inserted once matched, so each row is written once; the unique constraint stops a concurrent
        # import of the same file (that one fails whole).
        BankTransaction.objects.bulk_create(rows, batch_size=1000)
        _write_payments(sure)
        for row, best, _ in sure:
            _settle_short(best, actor=actor, row=row)
    return result


def _new_rows(
    statements: list[ParsedStatement], file_name: str, result: ImportResult
) -> list[BankTransaction]:
    rows: list[BankTransaction] = []
    for parsed in statements:
        statement, _ = BankStatement.objects.get_or_create(
            account=parsed.account,
            statement_id=parsed.statement_id,
            defaults={"format": parsed.format, "created_on": parsed.created_on, "file_name": file_name[:200]},
        )
        known = set(
            BankTransaction.objects.filter(statement=statement).values_list(
                "entry_reference", "detail_number"
            )
        )
        for line in parsed.transactions:
            if (line.entry_reference, line.detail_number) in known:
                result.known += 1
                continue
            known.add((line.entry_reference, line.detail_number))
            debit = line.direction == Direction.DEBIT
            rows.append(
                BankTransaction(
                    statement=statement,
                    account=parsed.account,
                    statement_ref=parsed.statement_id,
                    status=TransactionStatus.DEBIT if debit else TransactionStatus.UNIDENTIFIED,
                    **vars(line),
                )
            )
            result.debits += debit
    result.new += len(rows)
    return rows


def _line(row: BankTransaction) -> matching.Line:
    return matching.Line(
        row.amount,
        row.currency,
        row.counterparty_name,
        row.counterparty_iban,
        row.structured_reference,
        row.remittance_text,
    )


Sure = list[tuple[BankTransaction, matching.Suggestion, str]]  # (line, its best suggestion, account number)


def _match(rows: list[BankTransaction], result: ImportResult) -> Sure:
    """Set each credit's suggestions and status; return the ones sure enough to apply."""
    credits = [row for row in rows if row.direction == Direction.CREDIT]
    if not credits:
        return []
    book = selectors.matching_book(currencies={row.currency for row in credits})
    the_rules = rules()
    sure: Sure = []
    for row in credits:
        suggestions = matching.suggest(_line(row), book, the_rules)
        row.suggestions = [_as_json(suggestion, book) for suggestion in suggestions]
        best = suggestions[0] if suggestions else None
        row.customer_id = best.customer_id if best else None
        row.confidence = Decimal(str(best.confidence)) if best else None
        row.reason = "; ".join(best.reasons)[:500] if best else "no customer recognised"
        if best and best.splits and best.confidence >= the_rules.auto_apply:
            row.status = TransactionStatus.APPLIED
            matching.take(book, best.splits)
            sure.append((row, best, book.payers[best.customer_id].account_number))
        else:
            row.status = TransactionStatus.QUEUED if best else TransactionStatus.UNIDENTIFIED
    result.applied += len(sure)
    result.queued += sum(row.status == TransactionStatus.QUEUED for row in credits)
    result.unidentified += sum(row.status == TransactionStatus.UNIDENTIFIED for row in credits)
    return sure


def _as_json(suggestion: matching.Suggestion, book: matching.Book) -> dict:
    payer = book.payers[suggestion.customer_id]
    return {
        "customer_id": payer.id,
        "customer_name": payer.name,
        "account_number": payer.account_number,
        "confidence": suggestion.confidence,
        "reasons": list(suggestion.reasons),
        "splits": [{"invoice_number": s.invoice_number, "amount": str(s.amount)} for s in suggestion.splits],
        "short_invoices": list(suggestion.short_invoices),
    }


def _write_payments(sure: Sure) -> None:
    """All sure matches as one bulk payment batch (the API's bulk path: one announcement for all)."""
    if not sure:
        return
    items = [
        invoice_services.PaymentData(
            account_number=account_number,
            reference=row.payment_reference,
            received_on=row.booking_date,
            amount=row.amount,
            currency=row.currency,
            allocations=tuple(
                invoice_services.AllocationRequest(s.invoice_number, s.amount) for s in best.splits
            ),
        )
        for row, best, account_number in sure
    ]
    invoice_services.bulk_record_payments(items)
    _link_payments([row for row, _, _ in sure])


def _link_payments(rows: list[BankTransaction]) -> None:
    by_reference = {row.payment_reference: row for row in rows}
    links = [
        BankTransaction.payments.through(banktransaction_id=by_reference[reference].pk, payment_id=payment_id)
        for payment_id, reference in Payment.objects.filter(reference__in=by_reference).values_list(
            "pk", "reference"
        )
    ]
    BankTransaction.payments.through.objects.bulk_create(links, ignore_conflicts=True)


def _settle_short(suggestion: matching.Suggestion | dict, *, actor, row: BankTransaction) -> None:
    """A bank fee's difference: left open, or the invoice written off when the setting says so and the
    actor may write off (a credit manager; the system never decides that)."""
    numbers = (
        suggestion.short_invoices
        if isinstance(suggestion, matching.Suggestion)
        else suggestion["short_invoices"]
    )
    if not numbers or settings.BANKING_SHORT_PAYMENT != ShortPayment.WRITE_OFF:
        return
    if not may(actor, Capability.SET_INVOICE_STATUS):
        row.reason = f"{row.reason}; the fee's difference stays open: only a credit manager may write off"[
            :500
        ]
        row.save(update_fields=["reason"])
        return
    for invoice in Invoice.objects.filter(number__in=numbers, status=InvoiceStatus.OPEN):
        invoice_services.set_invoice_status(invoice=invoice, status=InvoiceStatus.WRITTEN_OFF, actor=actor)


# --- The queue ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One customer's share of a confirmed line: the amount, and invoice numbers (paid oldest first)."""

    account_number: str
    amount: Decimal | None = None  # None: the whole line (only when there is one part)
    invoice_numbers: tuple[str, ...] = ()


def confirm_suggestion(*, transaction_id: int, index: int, actor: Actor) -> BankTransaction:
    """Apply the queue line's suggestion number `index` (0 = best) as it stands."""
    row = _waiting(transaction_id, actor)
    if not 0 <= index < len(row.suggestions):
        raise ValidationError({"suggestion": "That suggestion is no longer offered: reload the queue."})
    chosen = row.suggestions[index]
    allocations = [
        invoice_services.AllocationRequest(split["invoice_number"], Decimal(split["amount"]))
        for split in chosen["splits"]
    ]
    customer = _customer_in_scope(chosen["account_number"], actor, "suggestion")
    return _confirm(row, [(customer, row.amount, allocations)], actor=actor, short=chosen)


def confirm_by_hand(*, transaction_id: int, parts: list[Part], actor: Actor) -> BankTransaction:
    """Apply the line as a person says: one or more customers, each with an amount and invoices, paid
    oldest first up to the amount. The parts must add up to the line's amount."""
    row = _waiting(transaction_id, actor)
    errors: dict[str, list[str]] = {}
    if not parts:
        raise ValidationError({"parts": ["Name at least one customer."]})
    plans = []
    for index, part in enumerate(parts):
        key = f"parts[{index}]"
        try:
            customer = _customer_in_scope(part.account_number, actor, key)
        except ValidationError as error:
            errors.update(error.message_dict)
            continue
        amount = row.amount if part.amount is None and len(parts) == 1 else part.amount
        if amount is None or amount <= 0:
            errors[f"{key}.amount"] = ["Give a positive amount for each customer of a split."]
            continue
        plans.append(
            (customer, amount, _allocations(customer, part.invoice_numbers, amount, row, key, errors))
        )
    total = sum((amount for _, amount, _ in plans), Decimal("0"))
    if not errors and total != row.amount:
        errors["parts"] = [f"The parts add up to {total}; the line is {row.amount} {row.currency}."]
    if errors:
        raise ValidationError(errors)
    return _confirm(row, plans, actor=actor, short=None)


def _allocations(customer, numbers, amount, row, key, errors) -> list[invoice_services.AllocationRequest]:
    invoices = {
        invoice.number: invoice
        for invoice in Invoice.objects.filter(customer=customer, number__in=numbers).exclude(
            status__in=["written_off", "cancelled"]
        )
    }
    missing = [number for number in numbers if number not in invoices]
    if missing:
        errors[f"{key}.invoices"] = [
            f"{customer.account_number} has no open invoice numbered {', '.join(missing)}."
        ]
        return []
    wrong = [number for number, invoice in invoices.items() if invoice.currency != row.currency]
    if wrong:
        errors[f"{key}.invoices"] = [f"{', '.join(wrong)} is not in {row.currency}."]
        return []
    ordered = sorted(invoices.values(), key=lambda invoice: (invoice.due_date, invoice.number))
    left, requests = amount, []
    for invoice in ordered:
        paid = min(left, invoice.amount - invoice.allocated_amount)
        if paid > 0:
            requests.append(invoice_services.AllocationRequest(invoice.number, paid))
            left -= paid
    return requests


def _waiting(transaction_id: int, actor) -> BankTransaction:
    require(actor, Capability.APPLY_CASH)
    queryset = (
        BankTransaction.objects.select_for_update()
        if transaction.get_connection().in_atomic_block
        else BankTransaction.objects
    )
    row = scope_to_portfolio(queryset.filter(pk=transaction_id), actor).first()
    if row is None:
        raise BankTransaction.DoesNotExist(f"No bank transaction {transaction_id} waits in your queue.")
    if row.status not in (TransactionStatus.QUEUED, TransactionStatus.UNIDENTIFIED):
        raise ValidationError({"transaction": f"This line is already {row.get_status_display().lower()}."})
    return row


def _customer_in_scope(account_number: str, actor, key: str) -> Customer:
    customer = scope_to_portfolio(Customer.objects.filter(account_number=account_number), actor, "").first()
    if customer is None:
        raise ValidationError(
            {key: [f"No customer with account number {account_number!r} in your portfolio."]}
        )
    return customer


def _confirm(row: BankTransaction, plans, *, actor, short) -> BankTransaction:
    with transaction.atomic():
        row = BankTransaction.objects.select_for_update().get(pk=row.pk)
        if row.status not in (TransactionStatus.QUEUED, TransactionStatus.UNIDENTIFIED):
            raise ValidationError(
                {"transaction": f"This line is already {row.get_status_display().lower()}."}
            )
        payments = []
        for customer, amount, allocations in plans:
            payment, _ = invoice_services.record_payment(
                customer=customer,
                reference=row.payment_reference,
                received_on=row.booking_date,
                amount=amount,
                currency=row.currency,
                allocations=allocations,
            )
            payments.append(payment)
        row.payments.add(*payments)
        row.status = TransactionStatus.CONFIRMED
        row.customer = plans[0][0]
        who = getattr(actor, "username", "system")
        row.reason = f"confirmed by {who}: " + ", ".join(f"{c.account_number} {a}" for c, a, _ in plans)
        row.save(update_fields=["status", "customer", "reason", "updated_at"])
        if len(plans) == 1:
            learn_iban(iban=row.counterparty_iban, customer=plans[0][0])
        if short:
            _settle_short(short, actor=actor, row=row)
    return row


def learn_iban(*, iban: str, customer: Customer) -> None:
    """Remember that this IBAN pays for this customer; a customer's own (master data) account is never
    moved by a confirmation, a learned one follows the latest confirmation."""
    if not iban:
        return
    known = CustomerBankAccount.objects.filter(iban=iban).first()
    if known is None:
        CustomerBankAccount.objects.get_or_create(
            iban=iban, defaults={"customer": customer, "source": AccountSource.LEARNED}
        )
    elif known.source == AccountSource.LEARNED and known.customer_id != customer.pk:
        CustomerBankAccount.objects.filter(pk=known.pk).update(customer=customer)


def add_customer_account(*, customer: Customer, iban: str, actor: Actor) -> CustomerBankAccount:
    """Record an IBAN the customer pays from (master data, as the ERP knows it)."""
    require(actor, Capability.SYNC_LEDGER)
    try:
        compact = clean_iban(iban, "iban")
    except StatementFileError as error:
        raise ValidationError({"iban": [str(error)]}) from error
    account, created = CustomerBankAccount.objects.get_or_create(
        iban=compact, defaults={"customer": customer}
    )
    if not created and account.customer_id != customer.pk:
        raise ValidationError({"iban": [f"{compact} is already an account of another customer."]})
    return account
