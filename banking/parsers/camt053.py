"""ISO 20022 camt.053 (Bank to Customer Statement), versions 001.02 and 001.08, read with lxml.

The version is read from the document's namespace. Both versions share the paths used here except
where 001.08 wraps a party in <Pty> and moves the status into <Sts><Cd>; `_first` tries both.
"""

from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

from ..choices import Direction, StatementFormat
from .base import (
    ParsedStatement,
    ParsedTransaction,
    StatementFileError,
    check_amount,
    check_currency,
    clean_iban,
    clip,
)

NAMESPACES = {
    "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02": "001.02",
    "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08": "001.08",
}
# No DTDs, no entities, no network: a statement is data, never a way into the server.
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_camt053(content: bytes) -> list[ParsedStatement]:
    try:
        root = etree.fromstring(content, PARSER)
    except etree.XMLSyntaxError as error:
        raise StatementFileError(f"line {error.lineno}: not well-formed XML ({error.msg}).") from error
    namespace = etree.QName(root).namespace
    if namespace not in NAMESPACES:
        raise StatementFileError(
            f"line {root.sourceline}: namespace {namespace!r} is not camt.053 001.02 or 001.08."
        )
    reader = _Reader(namespace)
    statements = reader.all(root, "BkToCstmrStmt/Stmt")
    if not statements:
        raise StatementFileError(f"line {root.sourceline}: <BkToCstmrStmt> holds no <Stmt>.")
    return [reader.statement(element) for element in statements]


class _Reader:
    def __init__(self, namespace: str):
        self.ns = {"c": namespace}

    def _path(self, path: str) -> str:
        return "/".join(f"c:{step}" for step in path.split("/"))

    def all(self, element, path: str) -> list:
        return element.findall(self._path(path), self.ns)

    def find(self, element, *paths: str):
        for path in paths:
            found = element.find(self._path(path), self.ns)
            if found is not None:
                return found
        return None

    def text(self, element, *paths: str) -> str:
        found = self.find(element, *paths)
        return (found.text or "").strip() if found is not None else ""

    def required(self, element, *paths: str) -> str:
        value = self.text(element, *paths)
        if not value:
            raise StatementFileError(f"line {element.sourceline}: <{_local(element)}> lacks <{paths[0]}>.")
        return value

    def day(self, element, *paths: str) -> date:
        found = self.find(element, *paths)
        if found is None:
            raise StatementFileError(f"line {element.sourceline}: <{_local(element)}> lacks <{paths[0]}>.")
        try:
            return date.fromisoformat((found.text or "").strip()[:10])
        except ValueError as error:
            raise StatementFileError(f"line {found.sourceline}: <{_local(found)}> is not a date.") from error

    def money(self, element) -> tuple[Decimal, str]:
        where = f"line {element.sourceline}: <{_local(element)}>"
        try:
            amount = Decimal((element.text or "").strip())
        except InvalidOperation as error:
            raise StatementFileError(f"{where} is not an amount.") from error
        return check_amount(amount, where), check_currency(element.get("Ccy", ""), where)

    def statement(self, element) -> ParsedStatement:
        account = self.text(element, "Acct/Id/IBAN")
        if account:
            account = clean_iban(account, f"line {element.sourceline}: <Acct>")
        else:
            account = self.required(element, "Acct/Id/Othr/Id")
        created = self.text(element, "CreDtTm")
        statement = ParsedStatement(
            account=account,
            statement_id=self.required(element, "Id"),
            created_on=date.fromisoformat(created[:10]) if created else None,
            format=StatementFormat.CAMT053,
        )
        for position, entry in enumerate(self.all(element, "Ntry"), start=1):
            statement.transactions.extend(self.entry(entry, position))
        return statement

    def entry(self, entry, position: int) -> list[ParsedTransaction]:
        status = self.text(entry, "Sts/Cd", "Sts")
        if status and status != "BOOK":
            return []  # pending or informational entries are not money on the account yet
        amount_element = self.find(entry, "Amt")
        if amount_element is None:
            raise StatementFileError(f"line {entry.sourceline}: <Ntry> lacks <Amt>.")
        amount, currency = self.money(amount_element)
        indicator = self.required(entry, "CdtDbtInd")
        if indicator not in ("CRDT", "DBIT"):
            raise StatementFileError(
                f"line {entry.sourceline}: <CdtDbtInd> {indicator!r} is not CRDT or DBIT."
            )
        direction = Direction.CREDIT if indicator == "CRDT" else Direction.DEBIT
        reference = self.text(entry, "NtryRef", "AcctSvcrRef") or f"#{position}"
        booked = self.day(entry, "BookgDt/Dt", "BookgDt/DtTm")
        valued = (
            self.day(entry, "ValDt/Dt", "ValDt/DtTm") if self.find(entry, "ValDt") is not None else booked
        )
        details = self.all(entry, "NtryDtls/TxDtls")
        common = {"entry_reference": reference[:35], "direction": direction, "booking_date": booked,
                  "value_date": valued, "currency": currency}  # fmt: skip
        if not details:
            return [ParsedTransaction(detail_number=0, amount=amount, **common)]
        parts = [self.detail(detail, direction, amount if len(details) == 1 else None) for detail in details]
        total = sum(part[0] for part in parts)
        if total != amount:
            raise StatementFileError(
                f"line {entry.sourceline}: the details add up to {total}, the entry says {amount}."
            )
        return [
            ParsedTransaction(detail_number=number, amount=part_amount, **common, **fields)
            for number, (part_amount, fields) in enumerate(parts, start=1 if len(parts) > 1 else 0)
        ]

    def detail(self, detail, direction: str, entry_amount: Decimal | None) -> tuple[Decimal, dict]:
        amount_element = self.find(detail, "AmtDtls/TxAmt/Amt", "Amt")
        if amount_element is not None:
            amount, _ = self.money(amount_element)
        elif entry_amount is not None:
            amount = entry_amount
        else:
            raise StatementFileError(f"line {detail.sourceline}: a batch's <TxDtls> lacks its amount.")
        party = "Dbtr" if direction == Direction.CREDIT else "Cdtr"
        iban = self.text(detail, f"RltdPties/{party}Acct/Id/IBAN")
        where = f"line {detail.sourceline}: <{party}Acct>"
        fields = {
            "counterparty_name": clip(
                self.text(detail, f"RltdPties/{party}/Nm", f"RltdPties/{party}/Pty/Nm"), 140
            ),
            "counterparty_iban": clean_iban(iban, where) if iban else "",
            "structured_reference": clip(self.text(detail, "RmtInf/Strd/CdtrRefInf/Ref"), 35),
            "remittance_text": clip(" ".join(e.text or "" for e in self.all(detail, "RmtInf/Ustrd")), 500),
            "end_to_end_id": clip(self.text(detail, "Refs/EndToEndId"), 35),
        }
        if fields["end_to_end_id"] == "NOTPROVIDED":
            fields["end_to_end_id"] = ""
        return amount, fields


def _local(element) -> str:
    return etree.QName(element).localname
