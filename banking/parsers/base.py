"""The plain shapes every statement parser returns, and the checks they share."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from customers.choices import CURRENCY_CODES


class StatementFileError(ValueError):
    """The file is refused whole; the message names where (line, element or tag) and what is wrong."""


@dataclass(frozen=True)
class ParsedTransaction:
    entry_reference: str
    detail_number: int
    direction: str  # Direction value
    booking_date: date
    value_date: date
    amount: Decimal
    currency: str
    counterparty_name: str = ""
    counterparty_iban: str = ""
    structured_reference: str = ""
    remittance_text: str = ""
    end_to_end_id: str = ""


@dataclass
class ParsedStatement:
    account: str
    statement_id: str
    created_on: date | None
    format: str
    transactions: list[ParsedTransaction] = field(default_factory=list)


def clean_iban(value: str, where: str) -> str:
    """The IBAN in electronic form, or a StatementFileError saying where it was and why it is wrong."""
    try:
        return IBAN(value).compact
    except SchwiftyException as error:
        raise StatementFileError(f"{where}: {value!r} is not a valid IBAN ({error}).") from error


def check_currency(code: str, where: str) -> str:
    if code not in CURRENCY_CODES:
        raise StatementFileError(f"{where}: unknown currency {code!r}.")
    return code


def check_amount(amount: Decimal, where: str) -> Decimal:
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise StatementFileError(f"{where}: the amount {amount} must be positive with at most 2 decimals.")
    return amount


def clip(text: str, length: int) -> str:
    return " ".join((text or "").split())[:length]
