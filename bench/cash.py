"""`make bench BENCH_ARGS=cash`: cash application from bank statements, measured against known truth.

A seeded generator writes camt.053 (001.02 and 001.08) and MT940 files from a demo ledger's open
invoices, keeping for each credit the customer and invoices it truly pays. The noise is the bank's:
clean RF references, invoice numbers clean or mangled (spaces, dashes, lost zeros, one wrong
character), several invoices in one payment, partial payments, bank fees deducted, no reference at all,
payers writing their name their own way or paying from an account nobody knows, unknown payers, and
refunds (debits). Then every file goes through `banking.services.import_statement_file`, timed, and the
answer is compared with the truth:

- auto-applied: the share of credits applied at once (target >= 90%);
- wrong: the share of those applied to another customer or other invoices than the truth (<= 0.5%);
- right first: among the rest, the share whose first suggestion is the truth (an unknown payer: no
  suggestion at all) (>= 80%);
- time for the transactions (10,000 in < 60 s).

By default it runs on SQLite: a demo ledger (`seed_demo --customers BENCH_CASH_CUSTOMERS`, default
2500, kept in var/bench/ and copied per run). `BENCH_CASH_DATABASE_URL` runs on that database instead
(a scratch copy, e.g. `createdb -T cd_seed20k cd_x_cash`: the run writes payments into it).
BENCH_CASH_TRANSACTIONS (default 10000) and BENCH_CASH_SEED (default 7) set the size and the draw.
"""

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 23)
LINES_PER_FILE = 500
# How often each kind of payment occurs (weights), the noise a bank statement really carries.
KINDS = {
    "clean RF reference": 30,
    "clean invoice number": 22,
    "number with spaces, dashes or lost zeros": 10,
    "number with one wrong character": 5,
    "several invoices": 8,
    "partial payment": 5,
    "bank fee deducted": 5,
    "no reference": 8,
    "unknown payer": 4,
    "refund (debit)": 3,
}
TARGETS = {"auto": 0.90, "wrong": 0.005, "right_first": 0.80, "seconds_per_10k": 60.0}


@dataclass
class Credit:
    kind: str
    amount: Decimal
    currency: str
    name: str
    iban: str
    structured: str = ""
    text: str = ""
    debit: bool = False
    truth_customer: int | None = None
    truth_invoices: frozenset = frozenset()


@dataclass
class Generated:
    files: list[tuple[str, bytes]]
    truth: dict = field(default_factory=dict)  # (statement id, entry ref, detail) -> Credit
    master_ibans: dict = field(default_factory=dict)  # IBAN -> customer id, the customers' known accounts


# --- The generator (plain data in, files out) ---------------------------------------------------


def generate(*, customers: list[tuple], invoices: list[tuple], count: int, seed: int) -> Generated:
    """`customers`: (id, name, account number); `invoices`: (id, number, customer id, open amount,
    currency, due date). Returns the files and the truth; each invoice is paid by one credit at most."""
    rng = random.Random(seed)
    names = {pk: name for pk, name, _ in customers}
    ibans = {pk: _iban(rng, index) for index, (pk, _, _) in enumerate(customers)}
    # 75% of customers pay from an account the ERP gave as master data; the rest from one nobody knows.
    master = {ibans[pk]: pk for pk, _, _ in customers if rng.random() < 0.75}
    by_customer = defaultdict(list)
    for row in sorted(invoices, key=lambda row: (row[5], row[1])):
        by_customer[row[2]].append(row)
    payers = [pk for pk in by_customer]
    rng.shuffle(payers)
    kinds, weights = list(KINDS), list(KINDS.values())
    credits: list[Credit] = []
    attempts = 0
    while len(credits) < count and attempts < count * 5 and payers:
        attempts += 1
        kind = rng.choices(kinds, weights)[0]
        pk = rng.choice(payers)
        credit = _credit(rng, kind, pk, names.get(pk, ""), ibans.get(pk, ""), by_customer)
        if credit is None:
            continue
        credits.append(credit)
        if not by_customer[pk]:
            payers.remove(pk)
    generated = Generated(files=[], master_ibans=master)
    # One statement per currency and chunk (an account statement has one currency); MT940 for EUR only.
    chunks = []
    for currency in sorted({credit.currency for credit in credits}):
        same = [credit for credit in credits if credit.currency == currency]
        chunks += [same[start : start + LINES_PER_FILE] for start in range(0, len(same), LINES_PER_FILE)]
    for number, chunk in enumerate(chunks):
        fmt = ("camt.053.001.02", "mt940", "camt.053.001.08")[number % 3]
        if fmt == "mt940" and chunk[0].currency != "EUR":
            fmt = "camt.053.001.02"
        statement_id = f"BENCH-{seed}-{number:04d}"
        if fmt == "mt940":
            content, keys = _mt940(statement_id, chunk)
            statement_key = f"{statement_id}/{number + 1:05d}"
        else:
            content, keys = _camt(statement_id, chunk, fmt[-2:], rng)
            statement_key = statement_id
        for key, credit in zip(keys, chunk, strict=True):
            generated.truth[(statement_key, *key)] = credit
        suffix = "sta" if fmt == "mt940" else "xml"
        generated.files.append((f"{statement_id}.{suffix}", content))
    return generated


def _iban(rng: random.Random, index: int) -> str:
    from schwifty import IBAN

    bank = rng.choice(["ABNA", "INGB", "RABO", "TRIO", "KNAB"])
    return IBAN.generate("NL", bank_code=bank, account_code=f"{index + 1000:010d}").compact


def _credit(rng, kind, pk, name, iban, by_customer) -> Credit | None:
    open_rows = by_customer[pk]
    if kind == "unknown payer":
        amount = Decimal(rng.randint(1500, 250000)) / 100
        stranger = rng.choice(
            ["Nordwind Handels", "Pietersen Holding", "Mrs J. de Vries", "Kowalski Sp. z o.o."]
        )
        return Credit(
            kind,
            amount,
            "EUR",
            f"{stranger} {rng.randint(1, 99)}",
            _iban(rng, 900000 + rng.randint(0, 99999)),
            text=rng.choice(["", "payment", "invoice 2024-118", "order 55123"]),
        )
    if kind == "refund (debit)":
        amount = Decimal(rng.randint(500, 40000)) / 100
        return Credit(
            kind, amount, "EUR", name, iban, text=f"Refund credit note CN-{rng.randint(100, 999)}", debit=True
        )
    if not open_rows:
        return None
    take = 1
    if kind == "several invoices":
        take = min(len(open_rows), rng.choice([2, 2, 3]))
        if take < 2:
            return None
    if kind == "no reference" and len(open_rows) > 1 and rng.random() < 0.3:
        take = 2
    chosen = [
        open_rows.pop(rng.randrange(len(open_rows))) if kind == "no reference" else open_rows.pop(0)
        for _ in range(take)
    ]
    currency = chosen[0][4]
    if any(row[4] != currency for row in chosen):
        open_rows.extend(row for row in chosen[1:])
        chosen = chosen[:1]
    total = sum((Decimal(row[3]) for row in chosen), Decimal("0"))
    amount = total
    numbers = [row[1] for row in chosen]
    payer_name = _noisy_name(rng, name)
    payer_iban = iban
    credit = Credit(
        kind, amount, currency, payer_name, payer_iban, truth_customer=pk, truth_invoices=frozenset(numbers)
    )
    if kind == "clean RF reference":
        from banking.matching import rf_reference

        credit.structured = rf_reference(numbers[0]).replace(" ", "")
    elif kind in ("clean invoice number", "several invoices"):
        credit.text = rng.choice(["Invoice ", "Inv. ", "Payment ", ""]) + " ".join(numbers)
    elif kind == "number with spaces, dashes or lost zeros":
        credit.text = "pay " + _mangle(rng, numbers[0])
    elif kind == "number with one wrong character":
        credit.text = "Invoice " + _typo(rng, numbers[0])
    elif kind == "partial payment":
        credit.amount = (total * Decimal(rng.randint(25, 75)) / 100).quantize(Decimal("0.01"))
        credit.text = f"part payment {numbers[0]}"
    elif kind == "bank fee deducted":
        credit.amount = total - Decimal(rng.randint(50, 1200)) / 100
        credit.text = numbers[0]
        if credit.amount <= 0:
            return None
    elif kind == "no reference":
        credit.text = rng.choice(["", "payment", "thank you", "settlement"])
    return credit


def _noisy_name(rng, name: str) -> str:
    roll = rng.random()
    if roll < 0.5:
        return name
    if roll < 0.8:
        return "".join(char for char in name.upper() if char.isalnum() or char == " ")
    words = name.split()
    return " ".join(words[:-1]) if len(words) > 2 else name.lower()


def _mangle(rng, number: str) -> str:
    parts = number.split("-")
    style = rng.choice(["spaces", "none", "zeros", "slash"])
    if style == "spaces":
        return " ".join(parts)
    if style == "none":
        return "".join(parts)
    if style == "slash":
        return "/".join(parts[1:])
    return "-".join(part.lstrip("0") or "0" if part.isdigit() else part for part in parts)


def _typo(rng, number: str) -> str:
    digits = [index for index, char in enumerate(number) if char.isdigit()]
    index = rng.choice(digits[-4:])
    wrong = rng.choice([digit for digit in "0123456789" if digit != number[index]])
    return number[:index] + wrong + number[index + 1 :]


def _camt(statement_id: str, credits: list[Credit], version: str, rng) -> tuple[bytes, list[tuple]]:
    from lxml import etree

    namespace = f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}"

    def element(parent, tag, text=None, **attributes):
        node = etree.SubElement(parent, f"{{{namespace}}}{tag}", **attributes)
        if text is not None:
            node.text = text
        return node

    root = etree.Element(f"{{{namespace}}}Document", nsmap={None: namespace})
    statement = element(element(root, "BkToCstmrStmt"), "Stmt")
    element(statement, "Id", statement_id)
    element(statement, "CreDtTm", f"{TODAY.isoformat()}T22:00:00")
    element(element(element(statement, "Acct"), "Id"), "IBAN", "NL20INGB0001234567")
    keys, index = [], 0
    while index < len(credits):
        # Now and then the bank books several credits as one entry (a batch booking).
        size = rng.choice([2, 3]) if rng.random() < 0.05 and not credits[index].debit else 1
        group = (
            [c for c in credits[index : index + size] if not c.debit]
            if size > 1
            else credits[index : index + 1]
        )
        group = group or credits[index : index + 1]
        index += len(group) if len(group) > 1 else 1
        entry_ref = f"E{len(keys) + 1:06d}"
        entry = element(statement, "Ntry")
        element(entry, "NtryRef", entry_ref)
        total = sum((c.amount for c in group), Decimal("0"))
        element(entry, "Amt", f"{total:.2f}", Ccy=group[0].currency)
        direction = "DBIT" if group[0].debit else "CRDT"
        element(entry, "CdtDbtInd", direction)
        if version == "08":
            element(element(entry, "Sts"), "Cd", "BOOK")
        else:
            element(entry, "Sts", "BOOK")
        element(element(entry, "BookgDt"), "Dt", TODAY.isoformat())
        element(element(entry, "ValDt"), "Dt", TODAY.isoformat())
        details = element(entry, "NtryDtls")
        if len(group) > 1:
            element(element(details, "Btch"), "NbOfTxs", str(len(group)))
        party, account = ("Cdtr", "CdtrAcct") if group[0].debit else ("Dbtr", "DbtrAcct")
        for number, credit in enumerate(group, start=1 if len(group) > 1 else 0):
            detail = element(details, "TxDtls")
            element(
                element(element(detail, "AmtDtls"), "TxAmt"),
                "Amt",
                f"{credit.amount:.2f}",
                Ccy=credit.currency,
            )
            parties = element(detail, "RltdPties")
            holder = element(parties, party)
            element(element(holder, "Pty") if version == "08" else holder, "Nm", credit.name[:140])
            element(element(element(parties, account), "Id"), "IBAN", credit.iban)
            remittance = element(detail, "RmtInf")
            if credit.text:
                element(remittance, "Ustrd", credit.text[:140])
            if credit.structured:
                element(element(element(remittance, "Strd"), "CdtrRefInf"), "Ref", credit.structured)
            keys.append((entry_ref, number))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8"), keys


def _mt940(statement_id: str, credits: list[Credit]) -> tuple[bytes, list[tuple]]:
    day = TODAY.strftime("%y%m%d")
    balance = Decimal("0")
    lines = [
        f":20:{statement_id[:16]}",
        ":25:NL20INGB0001234567",
        f":28C:{int(statement_id[-4:]) + 1:05d}/1",
        f":60F:C{day}EUR0,00",
    ]
    keys = []
    for index, credit in enumerate(credits, start=1):
        mark = "D" if credit.debit else "C"
        balance += -credit.amount if credit.debit else credit.amount
        reference = f"B{index:07d}"
        lines.append(f":61:{day}{day[2:]}{mark}{str(credit.amount).replace('.', ',')}NTRFNONREF//{reference}")
        purpose = " ".join(part for part in (credit.structured, credit.text) if part) or "SEPA"
        chunks = _chunks(f"SVWZ+{purpose}", 27)[:9]
        fields = "".join(f"?{20 + i}{chunk}" for i, chunk in enumerate(chunks))
        name = credit.name[:54]
        lines.append(
            f":86:166?00SEPA-GUTSCHRIFT{fields}?31{credit.iban}?32{name[:27]}"
            + (f"?33{name[27:]}" if name[27:] else "")
        )
        keys.append((reference, 0))
    sign = "C" if balance >= 0 else "D"
    lines.append(f":62F:{sign}{day}EUR{str(abs(balance)).replace('.', ',')}")
    lines.append("-")
    return ("\n".join(lines) + "\n").encode(), keys


def _chunks(text: str, width: int) -> list[str]:
    """Cut at spaces into pieces of at most `width` (the MT940 ?2x sub-fields), never inside a word."""
    chunks, current = [], ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= width:
            current = candidate
        else:
            if current:
                chunks.append(current)
            current = word[:width]
    if current:
        chunks.append(current)
    return chunks


# --- The run ------------------------------------------------------------------------------------


def ledger_rows(currencies=("EUR", "GBP", "USD")):
    from django.db.models import F

    from customers.models import Customer
    from invoices.models import Invoice

    customers = list(Customer.objects.values_list("pk", "name", "account_number"))
    invoices = [
        (pk, number, customer, str(amount - allocated), currency, due)
        for pk, number, customer, amount, allocated, currency, due in Invoice.objects.filter(
            allocated_amount__lt=F("amount"), status__in=["open"], currency__in=currencies
        ).values_list("pk", "number", "customer_id", "amount", "allocated_amount", "currency", "due_date")
    ]
    return customers, invoices


def measure(*, count: int, seed: int) -> dict:
    """Generate, register the customers' master IBANs, import every file (timed), compare with the truth."""
    from banking.models import BankTransaction, CustomerBankAccount
    from banking.services import import_statement_files
    from customers.access import SYSTEM

    customers, invoices = ledger_rows()
    generated = generate(customers=customers, invoices=invoices, count=count, seed=seed)
    CustomerBankAccount.objects.bulk_create(
        [CustomerBankAccount(iban=iban, customer_id=pk) for iban, pk in generated.master_ibans.items()],
        ignore_conflicts=True,
    )
    from banking.parsers import parse_statement_file

    started = time.perf_counter()
    for name, content in generated.files:  # the floor: reading the files, nothing matched or written
        parse_statement_file(content, name)
    floor = time.perf_counter() - started
    started = time.perf_counter()
    import_statement_files(files=generated.files, actor=SYSTEM)  # the morning's statements, in one go
    seconds = time.perf_counter() - started
    rows = BankTransaction.objects.filter(statement__file_name__in=[name for name, _ in generated.files])
    return {**evaluate(rows, generated, seconds), "parse_seconds": floor}


def evaluate(rows, generated: Generated, seconds: float) -> dict:
    from banking.choices import TransactionStatus
    from invoices.models import Allocation

    applied_to = defaultdict(set)
    customers_of = {}
    allocations = Allocation.objects.filter(payment__reference__startswith="BANK-").values_list(
        "payment__reference", "payment__customer_id", "invoice__number"
    )
    for reference, customer_id, number in allocations.iterator():
        pk = int(reference.removeprefix("BANK-"))
        customers_of[pk] = customer_id
        applied_to[pk].add(number)
    tally = Counter()
    by_kind = defaultdict(Counter)
    for row in rows.only("pk", "statement_ref", "entry_reference", "detail_number", "status", "suggestions"):
        credit = generated.truth[(row.statement_ref, row.entry_reference, row.detail_number)]
        if credit.debit:
            tally["debits"] += 1
            continue
        kind = by_kind[credit.kind]
        tally["credits"] += 1
        kind["credits"] += 1
        if row.status == TransactionStatus.APPLIED:
            right = (
                customers_of.get(row.pk) == credit.truth_customer
                and applied_to[row.pk] == credit.truth_invoices
            )
            outcome = "applied right" if right else "applied wrong"
        else:
            first = row.suggestions[0] if row.suggestions else None
            if credit.truth_customer is None:
                right = first is None
            else:
                right = (
                    first is not None
                    and first["customer_id"] == credit.truth_customer
                    and {split["invoice_number"] for split in first["splits"]} == set(credit.truth_invoices)
                )
            outcome = "right first" if right else "not first"
        tally[outcome] += 1
        kind[outcome] += 1
    applied = tally["applied right"] + tally["applied wrong"]
    rest = tally["credits"] - applied
    return {
        "transactions": tally["credits"] + tally["debits"],
        "credits": tally["credits"],
        "debits": tally["debits"],
        "files": len(generated.files),
        "auto": applied / tally["credits"] if tally["credits"] else 0.0,
        "wrong": tally["applied wrong"] / applied if applied else 0.0,
        "right_first": tally["right first"] / rest if rest else 1.0,
        "seconds": seconds,
        "by_kind": {name: dict(counts) for name, counts in sorted(by_kind.items())},
    }


def print_report(report: dict, where: str) -> None:
    per_10k = report["seconds"] * 10000 / max(report["transactions"], 1)
    print(
        f"cash application on {where}: {report['transactions']:,} transactions "
        f"({report['credits']:,} credits, "
        f"{report['debits']:,} debits) in {report['files']} files, load average {_load()}"
    )
    rows = [
        ("auto-applied", f"{report['auto']:.1%}", ">= 90%", report["auto"] >= TARGETS["auto"]),
        (
            "wrong among auto-applied",
            f"{report['wrong']:.2%}",
            "<= 0.5%",
            report["wrong"] <= TARGETS["wrong"],
        ),
        (
            "right answer first, of the rest",
            f"{report['right_first']:.1%}",
            ">= 80%",
            report["right_first"] >= TARGETS["right_first"],
        ),
        (
            "time for the import",
            f"{report['seconds']:.1f} s ({per_10k:.1f} s per 10,000)",
            "< 60 s per 10,000",
            per_10k < TARGETS["seconds_per_10k"],
        ),
    ]
    print(f"  {'what':<34} {'figure':<28} {'target':<20} met")
    for what, figure, target, met in rows:
        print(f"  {what:<34} {figure:<28} {target:<20} {'yes' if met else 'NO'}")
    if report.get("parse_seconds"):
        floor = report["parse_seconds"]
        print(
            f"  floor: parsing the files alone {floor:.1f} s; the import is {report['seconds'] / floor:.1f}x"
        )
    print("  by kind of payment: credits, auto-applied right / wrong, right first / not first among the rest")
    for kind, counts in report["by_kind"].items():
        print(
            f"    {kind:<42} {counts.get('credits', 0):>5}  auto {counts.get('applied right', 0):>5} / "
            f"{counts.get('applied wrong', 0):<3}  queue {counts.get('right first', 0):>4} / "
            f"{counts.get('not first', 0)}"
        )


def _load() -> str:
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


def sqlite_ledger(customers: int) -> Path:
    """A seeded demo ledger as a SQLite file, kept in var/bench/ and built the first time."""
    kept = ROOT / "var" / "bench" / f"cash-ledger-{customers}.sqlite3"
    if kept.exists():
        return kept
    kept.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="creditdesk-cash-ledger-") as folder:
        env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
        env["CREDITDESK_VAR_DIR"] = folder
        manage = [sys.executable, str(ROOT / "manage.py")]
        print(
            f"seeding a demo ledger of {customers} customers on SQLite (once; kept as {kept}) ...", flush=True
        )
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, cwd=ROOT)
        subprocess.run(
            [*manage, "seed_demo", f"--customers={customers}", "--seed=5", f"--today={TODAY}", "-v0"],
            env=env,
            check=True,
            cwd=ROOT,
        )
        shutil.copy(Path(folder) / "creditdesk.sqlite3", kept)
    return kept


def main() -> None:
    import django

    count = int(os.environ.get("BENCH_CASH_TRANSACTIONS", "10000"))
    seed = int(os.environ.get("BENCH_CASH_SEED", "7"))
    target = os.environ.get("BENCH_CASH_DATABASE_URL", "")
    with tempfile.TemporaryDirectory(prefix="creditdesk-bench-cash-") as folder:
        if target:
            os.environ["DATABASE_URL"] = target
            where = f"PostgreSQL ({target.rsplit('/', 1)[-1]})"
        else:
            customers = int(os.environ.get("BENCH_CASH_CUSTOMERS", "2500"))
            shutil.copy(sqlite_ledger(customers), Path(folder) / "creditdesk.sqlite3")
            os.environ.pop("DATABASE_URL", None)
            os.environ["CREDITDESK_VAR_DIR"] = folder
            where = f"SQLite (demo ledger of {customers} customers)"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditdesk.settings")
        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        report = measure(count=count, seed=seed)
    print_report(report, where)


if __name__ == "__main__":
    main()
