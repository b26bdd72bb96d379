"""The matching engine: which customer paid, and for which invoices. Pure: plain data in, plain data out.

`suggest(line, book, rules)` returns the ranked suggestions for one bank transaction, best first, each
with a confidence (0-1) and its reasons in words. It reads nothing but its arguments, so every rule is
tested on its own and the benchmark runs it on thousands of lines without the database.

Evidence for the customer: the payer's IBAN (learned from a confirmed match, or one of the customer's
own accounts), the invoices its references name, and the payer's name by similarity. Evidence for the
invoices: an ISO 11649 RF reference, invoice numbers in the text (tolerant to spaces, dashes, lost
leading zeros and, within a known customer, one wrong character), the amount equal to one open invoice
or to a subset of them (bounded search), and a short payment within the bank-fee tolerance.
Confidences of independent evidence for one customer combine as 1 - prod(1 - c).
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import combinations

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

# --- The shapes ---------------------------------------------------------------------------------


@dataclass
class OpenInvoice:
    """An invoice with money still open; `Book.take` lowers `open_amount` as an import applies lines."""

    id: int
    number: str
    customer_id: int
    open_amount: Decimal
    currency: str
    due_date: date


@dataclass(frozen=True)
class Payer:
    id: int
    name: str
    account_number: str


@dataclass(frozen=True)
class Line:
    """What the bank says about one credit transaction."""

    amount: Decimal
    currency: str
    counterparty_name: str = ""
    counterparty_iban: str = ""
    structured_reference: str = ""
    remittance_text: str = ""


@dataclass(frozen=True)
class Rules:
    auto_apply: float = 0.9
    fee_tolerance: Decimal = Decimal("15.00")
    subset_candidates: int = 20  # the oldest open invoices the subset search looks at
    subset_max_size: int = 4
    subset_budget: int = 6000  # combinations tried at most, so one line never stalls an import
    name_cutoff: float = 82.0  # rapidfuzz similarity (0-100) below which a name says nothing


@dataclass(frozen=True)
class Split:
    invoice_id: int
    invoice_number: str
    amount: Decimal


@dataclass(frozen=True)
class Suggestion:
    customer_id: int
    splits: tuple[Split, ...]
    confidence: float
    reasons: tuple[str, ...]
    short_invoices: tuple[str, ...] = ()  # invoices a bank fee left a little open on

    @property
    def allocated(self) -> Decimal:
        return sum((split.amount for split in self.splits), Decimal("0"))


@dataclass
class Book:
    """The ledger as the engine sees it: payers, their open invoices, known IBANs. Build with `make_book`."""

    payers: dict[int, Payer]
    open_invoices: dict[int, list[OpenInvoice]]  # by customer, oldest due first
    iban_owners: dict[str, tuple[int, bool]]  # IBAN -> (customer id, learned from a confirmation)
    by_key: dict[str, list[OpenInvoice]] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    by_id: dict[int, OpenInvoice] = field(default_factory=dict)


def make_book(
    *, payers: Iterable[Payer], invoices: Iterable[OpenInvoice], iban_owners: dict[str, tuple[int, bool]]
) -> Book:
    book = Book(payers={payer.id: payer for payer in payers}, open_invoices={}, iban_owners=dict(iban_owners))
    for invoice in sorted(invoices, key=lambda invoice: (invoice.due_date, invoice.number)):
        book.open_invoices.setdefault(invoice.customer_id, []).append(invoice)
        book.by_id[invoice.id] = invoice
        for key in number_keys(invoice.number):
            book.by_key.setdefault(key, []).append(invoice)
    book.names = {pk: sorted_name(payer.name) for pk, payer in book.payers.items()}
    return book


def take(book: Book, splits: Iterable[Split]) -> None:
    """Lower the open amounts by what an applied suggestion allocated, so the next line of the same
    import does not pay the same invoice again."""
    paid = {split.invoice_id: split.amount for split in splits}
    for invoice in [book.by_id[pk] for pk in paid if pk in book.by_id]:
        invoice.open_amount -= paid[invoice.id]
        owner = invoice.customer_id
        if invoice.open_amount <= 0:
            book.open_invoices[owner] = [i for i in book.open_invoices[owner] if i.open_amount > 0]


# --- Reading numbers and references -------------------------------------------------------------


def alnum_parts(text: str) -> list[str]:
    """The runs of letters and digits, upper case: "inv 100001-0042." -> ["INV", "100001", "0042"].

    ASCII letters and digits of the upper-cased text (so "ß" counts as "SS"), found by one pattern:
    the matcher calls this for every open invoice of the ledger, a loop over characters cost seconds."""
    return _ALNUM_RUN.findall(text.upper())


_ALNUM_RUN = re.compile("[A-Za-z0-9]+")


def _strip_zeros(part: str) -> str:
    return (part.lstrip("0") or "0") if part.isdigit() else part


def number_keys(number: str) -> set[str]:
    """The keys an invoice number is found by: as written without separators, with each group's leading
    zeros dropped, and the digits alone (for payers who leave out the prefix)."""
    parts = alnum_parts(number)
    keys = {"".join(parts), "".join(_strip_zeros(part) for part in parts)}
    digits = [part for part in parts if part.isdigit()]
    if digits:
        keys |= {"".join(digits), "".join(_strip_zeros(part) for part in digits)}
    return {key for key in keys if len(key) >= 5 or not key.isdigit()}


def text_windows(text: str, width: int = 3) -> list[str]:
    """Each run of up to `width` neighbouring groups, joined as written and with zeros dropped."""
    parts = alnum_parts(text)
    windows: list[str] = []
    for start in range(len(parts)):
        for end in range(start + 1, min(start + width, len(parts)) + 1):
            chunk = parts[start:end]
            if not any(part.isdigit() or any(c.isdigit() for c in part) for part in chunk):
                continue
            windows.append("".join(chunk))
            windows.append("".join(_strip_zeros(part) for part in chunk))
    return windows


def rf_check_ok(reference: str) -> bool:
    """ISO 11649: RF, two check digits, up to 21 letters or digits; mod 97 of the rearranged digits is 1."""
    reference = "".join(alnum_parts(reference))
    if not (5 <= len(reference) <= 25 and reference.startswith("RF") and reference[2:4].isdigit()):
        return False
    rearranged = reference[4:] + reference[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def rf_reference(body: str) -> str:
    """The ISO 11649 reference for `body` (the invoice number's letters and digits), grouped by four."""
    body = "".join(alnum_parts(body))
    check = 98 - int("".join(str(int(char, 36)) for char in body + "RF00")) % 97
    compact = f"RF{check:02d}{body}"
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def rf_references(line: Line) -> list[str]:
    """The valid RF references in the structured reference or the text, compact."""
    found = []
    for source in (line.structured_reference, line.remittance_text):
        parts = alnum_parts(source)
        for start, part in enumerate(parts):
            if not part.startswith("RF"):
                continue
            for end in range(start + 1, min(start + 7, len(parts)) + 1):
                candidate = "".join(parts[start:end])
                if rf_check_ok(candidate) and candidate not in found:
                    found.append(candidate)
                    break
    return found


def sorted_name(name: str) -> str:
    """Upper case, letters and digits only, words sorted: "Acme Trading B.V." -> "ACME B TRADING V"."""
    return " ".join(sorted(alnum_parts(name)))


# --- Evidence -----------------------------------------------------------------------------------


@dataclass
class _Evidence:
    """What one line says about one customer: confidences with reasons, and the invoices it names."""

    scores: list[tuple[float, str]] = field(default_factory=list)
    named: dict[int, OpenInvoice] = field(default_factory=dict)
    named_by: dict[int, float] = field(default_factory=dict)  # invoice id -> how surely it is named

    def confidence(self) -> float:
        remaining = 1.0
        for score, _ in self.scores:
            remaining *= 1.0 - score
        return min(1.0 - remaining, 0.995)


def suggest(line: Line, book: Book, rules: Rules = Rules()) -> list[Suggestion]:
    """The ranked suggestions for a credit line: at most three, best first; [] for an unknown payer."""
    evidence: dict[int, _Evidence] = {}

    def note(customer_id: int, score: float, reason: str) -> _Evidence:
        found = evidence.setdefault(customer_id, _Evidence())
        found.scores.append((score, reason))
        return found

    def name(invoice: OpenInvoice, score: float, reason: str) -> None:
        found = evidence.setdefault(invoice.customer_id, _Evidence())
        if invoice.id not in found.named:
            found.scores.append((score, reason))
        found.named[invoice.id] = invoice
        found.named_by[invoice.id] = max(score, found.named_by.get(invoice.id, 0.0))

    for reference in rf_references(line):
        for invoice in book.by_key.get(reference[4:], []):
            if invoice.currency == line.currency and invoice.open_amount > 0:
                shown = " ".join(reference[i : i + 4] for i in range(0, len(reference), 4))
                name(invoice, 0.95, f"RF reference {shown} matches {invoice.number}")
    text = f"{line.structured_reference} {line.remittance_text}"
    windows = text_windows(text)
    for window in windows:
        for invoice in book.by_key.get(window, []):
            if invoice.currency == line.currency and invoice.open_amount > 0:
                # Digits alone (the payer left out the prefix) say a little less than the number as written.
                sure = 0.92 if any(char.isalpha() for char in window) else 0.88
                name(invoice, sure, f"invoice number {invoice.number} in the text")

    if line.counterparty_iban in book.iban_owners:
        owner, learned = book.iban_owners[line.counterparty_iban]
        if owner in book.payers:
            how = "confirmed before as" if learned else "is an account of"
            note(
                owner,
                0.97 if learned else 0.95,
                f"IBAN {line.counterparty_iban} {how} {book.payers[owner].name}",
            )
    if (
        not any(score >= 0.95 for found in evidence.values() for score, _ in found.scores)
        and line.counterparty_name
    ):
        for _, similarity, customer_id in process.extract(
            sorted_name(line.counterparty_name),
            book.names,
            scorer=fuzz.ratio,  # on names with their words sorted once: token_sort_ratio without re-sorting
            limit=3,
            score_cutoff=rules.name_cutoff,
        ):
            payer = book.payers[customer_id]
            note(
                customer_id,
                0.88 * similarity / 100,
                f"name {line.counterparty_name!r} is {similarity:.0f}% like {payer.name}",
            )

    # One wrong character: only among the open invoices of customers already in view, never the ledger.
    for customer_id, found in evidence.items():
        if found.named:
            continue
        for invoice in book.open_invoices.get(customer_id, []):
            target = "".join(alnum_parts(invoice.number))
            near = next(
                (w for w in windows if len(w) >= 6 and Levenshtein.distance(w, target, score_cutoff=1) <= 1),
                None,
            )
            if near is not None and invoice.currency == line.currency:
                name(invoice, 0.8, f"{near!r} in the text is one character from {invoice.number}")

    suggestions = []
    for customer_id, found in sorted(evidence.items(), key=lambda item: -item[1].confidence())[:3]:
        open_invoices = [i for i in book.open_invoices.get(customer_id, []) if i.currency == line.currency]
        for option in _invoice_options(line, found, open_invoices, rules):
            splits, invoice_confidence, reasons, short = option
            confidence = round(found.confidence() * invoice_confidence, 3)
            reasons = tuple(reason for _, reason in found.scores) + tuple(reasons)
            suggestions.append(Suggestion(customer_id, tuple(splits), confidence, reasons, tuple(short)))
    suggestions.sort(key=lambda suggestion: -suggestion.confidence)
    return _penalise_doubt(suggestions[:3])


def _penalise_doubt(suggestions: list[Suggestion]) -> list[Suggestion]:
    """Two close answers for different customers: neither is sure enough to apply unseen."""
    if len(suggestions) < 2:
        return suggestions
    best, second = suggestions[0], suggestions[1]
    if second.customer_id != best.customer_id and second.confidence > best.confidence - 0.15:
        doubt = round(best.confidence * 0.85, 3)
        best = Suggestion(
            best.customer_id,
            best.splits,
            doubt,
            (*best.reasons, "another customer fits almost as well"),
            best.short_invoices,
        )
    return [best, *suggestions[1:]]


# --- Invoices for a customer --------------------------------------------------------------------

Option = tuple[list[Split], float, list[str], list[str]]


def _invoice_options(
    line: Line, found: _Evidence, open_invoices: list[OpenInvoice], rules: Rules
) -> list[Option]:
    named = sorted(found.named.values(), key=lambda invoice: (invoice.due_date, invoice.number))
    if named:
        return [_pay_named(line, named, open_invoices, rules)]
    options = _by_amount(line, open_invoices, rules)
    if not options:
        options = [([], 0.3, ["no open invoice or set of them matches the amount: on account"], [])]
    return options[:2]


def _pay_named(
    line: Line, named: list[OpenInvoice], open_invoices: list[OpenInvoice], rules: Rules
) -> Option:
    total = sum((invoice.open_amount for invoice in named), Decimal("0"))
    numbers = ", ".join(invoice.number for invoice in named)
    if line.amount != total and len(named) == 1:
        # A typo can name a real invoice: one character from it, another pays exactly this amount.
        written = "".join(alnum_parts(named[0].number))
        near = [
            i
            for i in open_invoices
            if i.id != named[0].id
            and i.open_amount == line.amount
            and Levenshtein.distance(written, "".join(alnum_parts(i.number)), score_cutoff=1) <= 1
        ]
        if len(near) == 1:
            reason = (
                f"{near[0].number}, one character from the {numbers} written, is open for exactly the amount"
            )
            return _splits(near), 0.93, [reason], []
    if line.amount == total:
        return _splits(named), 0.99, [f"the amount equals the open amount of {numbers}"], []
    if line.amount < total:
        short = total - line.amount
        splits = _oldest_first(named, line.amount)
        if short <= rules.fee_tolerance:
            last = [splits[-1].invoice_number] if splits else []
            return splits, 0.97, [f"short by {short} {line.currency}: within the bank-fee tolerance"], last
        return splits, 0.95, [f"a partial payment: {short} {line.currency} of {numbers} stays open"], []
    rest = line.amount - total
    others = [invoice for invoice in open_invoices if invoice.id not in {i.id for i in named}]
    extra = next((invoice for invoice in others if invoice.open_amount == rest), None)
    if extra is not None:
        reason = f"the {rest} {line.currency} over {numbers} equals the open amount of {extra.number}"
        return _splits([*named, extra]), 0.9, [reason], []
    return (
        _splits(named),
        0.8,
        [f"{rest} {line.currency} more than {numbers}: the rest stays unallocated"],
        [],
    )


def _by_amount(line: Line, open_invoices: list[OpenInvoice], rules: Rules) -> list[Option]:
    equal = [invoice for invoice in open_invoices if invoice.open_amount == line.amount]
    if len(equal) == 1:
        return [
            (
                _splits(equal),
                0.96,
                [f"the amount equals the open amount of {equal[0].number}, the only one"],
                [],
            )
        ]
    if equal:
        return [
            (_splits([invoice]), 0.6, [f"the amount equals {invoice.number} (one of {len(equal)} alike)"], [])
            for invoice in equal
        ]
    total = sum((invoice.open_amount for invoice in open_invoices), Decimal("0"))
    if len(open_invoices) > 1 and total == line.amount:
        return [
            (_splits(open_invoices), 0.93, [f"the amount pays all {len(open_invoices)} open invoices"], [])
        ]
    subsets = _subsets_equal(line.amount, open_invoices, rules)
    if subsets:
        confidence = 0.91 if len(subsets) == 1 else 0.55
        return [
            (
                _splits(subset),
                confidence,
                [f"the amount equals the open total of {', '.join(i.number for i in subset)}"],
                [],
            )
            for subset in subsets
        ]
    near = [i for i in open_invoices if Decimal("0") < i.open_amount - line.amount <= rules.fee_tolerance]
    if len(near) == 1:
        short = near[0].open_amount - line.amount
        reason = f"{short} {line.currency} short of {near[0].number}: within the bank-fee tolerance"
        return [(_oldest_first(near, line.amount), 0.85, [reason], [near[0].number])]
    return []


def _subsets_equal(
    amount: Decimal, open_invoices: list[OpenInvoice], rules: Rules
) -> list[list[OpenInvoice]]:
    """Sets of 2..max_size of the oldest open invoices whose open amounts add up to the amount, oldest
    sets first; at most two (a second says the answer is not unique), within the budget."""
    pool = [invoice for invoice in open_invoices if invoice.open_amount < amount][: rules.subset_candidates]
    target = int(amount * 100)
    cents = [int(invoice.open_amount * 100) for invoice in pool]
    found, tried = [], 0
    for size in range(2, rules.subset_max_size + 1):
        for combination in combinations(range(len(pool)), size):
            tried += 1
            if tried > rules.subset_budget:
                return found
            if sum(cents[index] for index in combination) == target:
                found.append([pool[index] for index in combination])
                if len(found) == 2:
                    return found
    return found


def _splits(invoices: list[OpenInvoice]) -> list[Split]:
    return [Split(invoice.id, invoice.number, invoice.open_amount) for invoice in invoices]


def _oldest_first(invoices: list[OpenInvoice], amount: Decimal) -> list[Split]:
    splits, left = [], amount
    for invoice in invoices:
        if left <= 0:
            break
        paid = min(left, invoice.open_amount)
        splits.append(Split(invoice.id, invoice.number, paid))
        left -= paid
    return splits
