"""SWIFT MT940 with the `mt-940` package; the structured :86: sub-fields (?20.. purpose, ?31 IBAN,
?32/?33 name, EREF+/SVWZ+ inside the purpose) are read by the package's own post-processor.

A file may hold several statements (each starts with :20:). The package reads one statement's tags at
a time into a shared dict, so the file is cut at each :20: line first and each part read on its own.
Every statement's balances must add up (opening + credits - debits = closing), which also catches a
transaction line the package could not read.
"""

from datetime import date
from decimal import Decimal

import mt940
from mt940.options import Options
from mt940.processors import transaction_details_post_processor_with_space
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from ..choices import Direction, StatementFormat
from .base import ParsedStatement, ParsedTransaction, StatementFileError, check_amount, check_currency, clip

PROCESSORS = {"post_transaction_details": [transaction_details_post_processor_with_space]}
OPTIONS = Options(applicant_iban=True, merge_keeps_values=True, strip_bom=True)


def parse_mt940(content: bytes) -> list[ParsedStatement]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("latin-1")
    parts = _statement_parts(text.splitlines())
    if not parts:
        raise StatementFileError("line 1: no :20: tag, so no MT940 statement in the file.")
    return [_statement(first_line, lines) for first_line, lines in parts]


def _statement_parts(lines: list[str]) -> list[tuple[int, list[str]]]:
    """[(line number of the :20:, the statement's lines)]; SWIFT envelope lines ({1:..}, -}) are dropped."""
    parts: list[tuple[int, list[str]]] = []
    for number, line in enumerate(lines, start=1):
        if line.startswith(":20:"):
            parts.append((number, []))
        if parts and not line.startswith(("{", "-}")) and line.strip() != "-":
            parts[-1][1].append(line)
    return parts


def _statement(first_line: int, lines: list[str]) -> ParsedStatement:
    where = f"statement at line {first_line}"
    transactions = mt940.models.Transactions(processors=PROCESSORS, options=OPTIONS)
    try:
        transactions.parse("\n".join(lines))
    except (RuntimeError, ValueError, KeyError) as error:
        raise StatementFileError(f"{where}: {error}") from error
    data = transactions.data
    for tag, key in ((":25:", "account_identification"), (":28C:", "statement_number"),
                     (":60F:", "final_opening_balance"), (":62F:", "final_closing_balance")):  # fmt: skip
        if not data.get(key) and not (tag == ":60F:" and data.get("intermediate_opening_balance")):
            raise StatementFileError(f"{where}: the {tag} tag is missing or unreadable.")
    account = data["account_identification"].strip()
    try:
        account = IBAN(account.split("/")[0]).compact
    except SchwiftyException:
        pass  # MT940 allows a national account number ("bank code/account"): kept as given
    opening = data.get("final_opening_balance") or data["intermediate_opening_balance"]
    closing = data["final_closing_balance"]
    currency = check_currency(opening.amount.currency, f"{where}, :60F:")
    statement = ParsedStatement(
        account=account,
        statement_id=f"{data.get('transaction_reference', '').strip()}/{data['statement_number']}"[:35],
        created_on=closing.date,
        format=StatementFormat.MT940,
    )
    starts = [first_line + index for index, line in enumerate(lines) if line.startswith(":61:")]
    if len(starts) != len(transactions):
        raise StatementFileError(f"{where}: {len(starts)} :61: lines but {len(transactions)} read.")
    balance = opening.amount.amount
    for position, (line_number, transaction) in enumerate(zip(starts, transactions, strict=True), start=1):
        parsed = _transaction(transaction.data, position, currency, f"line {line_number} (:61:)")
        statement.transactions.append(parsed)
        balance += parsed.amount if parsed.direction == Direction.CREDIT else -parsed.amount
    if balance != closing.amount.amount:
        raise StatementFileError(
            f"{where}: opening balance and transactions give {balance}, :62F: says {closing.amount.amount}."
        )
    return statement


def _transaction(data: dict, position: int, currency: str, where: str) -> ParsedTransaction:
    amount = data.get("amount")
    if amount is None or data.get("date") is None or data.get("status") not in ("C", "D", "RC", "RD"):
        raise StatementFileError(f"{where}: the transaction line is unreadable.")
    # A reversal of a debit (RD) puts money back on the account; its sign is in the amount.
    value = Decimal(amount.amount)
    direction = Direction.CREDIT if value > 0 else Direction.DEBIT
    value = check_amount(abs(value), where)
    iban = (data.get("applicant_iban") or "").replace(" ", "")
    try:
        iban = IBAN(iban).compact if iban else ""
    except SchwiftyException as error:
        raise StatementFileError(f"{where}, :86: ?31: {iban!r} is not a valid IBAN ({error}).") from error
    purpose = clip(data.get("purpose") or data.get("transaction_details") or "", 500)
    first_word = purpose.split(" ", 1)[0] if purpose else ""
    reference = data.get("bank_reference") or data.get("customer_reference") or f"#{position}"
    end_to_end = data.get("end_to_end_reference") or ""
    return ParsedTransaction(
        entry_reference=clip(reference if reference != "NONREF" else f"#{position}", 35),
        detail_number=0,
        direction=direction,
        booking_date=_plain_day(data.get("entry_date") or data["date"]),
        value_date=_plain_day(data["date"]),
        amount=value,
        currency=currency,
        counterparty_name=clip(data.get("applicant_name") or "", 140),
        counterparty_iban=iban,
        structured_reference=first_word
        if first_word.upper().startswith("RF") and len(first_word) <= 25
        else "",
        remittance_text=purpose,
        end_to_end_id=clip(end_to_end if end_to_end != "NOTPROVIDED" else "", 35),
    )


def _plain_day(day) -> date:
    return date(day.year, day.month, day.day)
