"""The invoice CSV import on PostgreSQL: every row checked and merged in SQL, a set at a time.

Why: checking a million rows one Python object at a time (parse, look up, compare, then COPY in
batches) cost about 79 s, most of it Python per row. Here COPY streams the file as it is into a
temporary table (or, for a file PostgreSQL would read otherwise than Python's csv module, Python
splits it into records and streams those, with their row numbers); PostgreSQL then types and
checks every row in one statement (dates, amounts, currencies, customers, numbers given twice,
changes that payments forbid), and when no row is bad it writes the new invoices with one
INSERT ... SELECT and the changed ones with one UPDATE ... FROM. A rejected file writes
nothing; an unchanged row is not touched (re-importing a file changes nothing, not even updated_at).

The SQL decides which rows are bad; the messages for those rows come from the same Python checks the
batch path uses (`imports.parse_invoice_row`, `services.invoice_item_errors`,
`services.invoice_change_errors`), so both paths word an error alike. Those checks run only on bad
rows, so they cost nothing on a good file.

The caller (`imports.import_invoices`) holds the transaction and the audit context.
"""

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal

from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone

from audit.records import Change, record_changes
from customers.choices import CURRENCY_CODES
from customers.fields import MONEY_DIGITS, MONEY_PLACES
from customers.models import Customer
from customers.signals import announce_change

from .models import Invoice
from .services import BulkResult, StoredInvoice

STAGE = "invoice_import_stage"
CHECKED = "invoice_import_checked"
STAGED_COLUMNS = ("number", "account_number", "issue_date", "due_date", "amount", "currency", "description")
CHUNK_ROWS = 20_000  # records per piece of the COPY stream (and per tick of the progress bar)
# What str.strip() removes from every value, as far as ASCII goes (btrim needs the characters named).
WHITESPACE = " \t\n\r\x0b\x0c"
# The shapes a value must have; the Python checks (imports.py) use the same patterns.
DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
AMOUNT_PATTERN = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)"


def stage_file(path, columns: list[str], *, expected_rows: int, progress=None) -> bool:
    """COPY the file as it is into a fresh staging table, if PostgreSQL reads it as csv.reader would.

    The fast way in: PostgreSQL parses the CSV itself and numbers the rows (the header is row 1).
    That numbering is the file's only when every line after the header is one record, so this
    succeeds only if the file staged exactly `expected_rows` records (its lines less the header);
    otherwise (a blank line, a quoted line break, a line of the wrong width, bad UTF-8) it stages
    nothing and returns False, and the caller stages the records one by one with `stage_rows`.
    """
    if not reads_alike(path):
        return False
    try:
        with transaction.atomic(), connection.cursor() as cursor:  # a savepoint: a failed COPY undoes itself
            _create_stage(cursor, numbered=True)
            names = ", ".join(connection.ops.quote_name(name) for name in columns)
            with open(path, "rb") as file, connection.wrap_database_errors:
                cursor.cursor.copy_expert(
                    f"COPY {STAGE} ({names}) FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')",
                    _CountingReader(file, progress),
                    size=1 << 20,
                )
            if cursor.cursor.rowcount != expected_rows:
                raise _NotAsCsvReaderReadsIt
            cursor.execute(f"ANALYZE {STAGE}")  # temporary tables are never analysed by autovacuum
    except (_NotAsCsvReaderReadsIt, DataError):
        return False
    return True


def reads_alike(path) -> bool:
    """Whether PostgreSQL's CSV reader splits every line of the file into the fields csv.reader does.

    They differ on a quote inside an unquoted value (PostgreSQL opens a quoted part there: `Order "A"`
    reads `Order A`; Python keeps the quotes). So a line with a quote must be plain fields, each either
    wholly quoted or without quotes. Lines without quotes, nearly all of most files, are not examined.
    """
    with open(path, "rb") as file:
        rest = b""
        while chunk := file.read(1 << 20):
            lines, _, rest = (rest + chunk).rpartition(b"\n")
            if b'"' in lines and not _PLAIN_LINES.fullmatch(lines + b"\n"):
                return False
        return b'"' not in rest or bool(_PLAIN_LINES.fullmatch(rest + b"\n"))


# A quoted field (inner quotes doubled; the loop unrolled, several times faster in `re`) or a bare one.
_FIELD = rb'(?:"[^"\r\n]*(?:""[^"\r\n]*)*"|[^",\r\n]*)'
_PLAIN_LINES = re.compile(rb"(?:%s(?:,%s)*\r?\n)*" % (_FIELD, _FIELD))


def stage_rows(
    rows: Iterable[list[str]], columns: list[str], *, on_bad_width: Callable[[int], None], progress=None
) -> int:
    """COPY the file's records into a fresh staging table, each with its row number; returns how many.

    `rows` are the records after the header (csv.reader); `columns` the header's names, in order. A
    record with the wrong number of fields is not staged: `on_bad_width(row)` is told instead. Row
    numbers count records as csv.DictReader does (the header is row 1; blank lines are skipped).
    """
    with connection.cursor() as cursor:
        _create_stage(cursor, numbered=False)
        count = [0]
        stream = _CopyStream(_csv_pieces(rows, len(columns), count, on_bad_width, progress))
        names = ", ".join(connection.ops.quote_name(name) for name in (*columns, "file_row"))
        cursor.cursor.copy_expert(
            f"COPY {STAGE} ({names}) FROM STDIN WITH (FORMAT csv)", stream, size=1 << 20
        )
        cursor.execute(f"ANALYZE {STAGE}")
    return count[0]


def _create_stage(cursor, *, numbered: bool) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {STAGE}, {CHECKED}")
    # TEMPORARY: no WAL, no other session sees it; dropped at the end (or rolled back with the import).
    # Numbered: COPY reads the rows in order, so an identity from 2 is each row's number in the file.
    number = "GENERATED BY DEFAULT AS IDENTITY (START WITH 2)" if numbered else ""
    cursor.execute(
        f"CREATE TEMPORARY TABLE {STAGE} (file_row integer {number}, "
        + ", ".join(f"{connection.ops.quote_name(name)} text" for name in STAGED_COLUMNS)
        + ")"
    )


class _NotAsCsvReaderReadsIt(Exception):
    pass


def check_staged() -> Iterator[tuple]:
    """Type and check every staged row against the others and the database; yield the bad ones.

    Builds the table of checked rows the merge reads. Each bad row comes, in row order, as (row number,
    its cleaned texts in STAGED_COLUMNS order, the customer's id or None, whether a good row gave its
    number before, the stored invoice as a StoredInvoice or None).
    """
    parameters = {
        "whitespace": WHITESPACE,
        "date_pattern": f"^{DATE_PATTERN}$",
        "amount_pattern": f"^{AMOUNT_PATTERN}$",
        "currencies": list(CURRENCY_CODES),
        "max_money": Decimal(10) ** (MONEY_DIGITS - MONEY_PLACES),
    }
    with connection.cursor() as cursor:
        # Memory enough for the sort that finds numbers given twice to stay out of temporary files; no
        # JIT (compiling costs more than it saves here); dates written back as YYYY-MM-DD whatever the
        # server's DateStyle. All for this transaction only.
        cursor.execute(
            "SELECT set_config('work_mem', '256MB', true), set_config('jit', 'off', true), "
            "set_config('DateStyle', 'ISO', true)"
        )
        try:
            # Good files first: cast, and compare the values written back with the texts (cheaper than
            # a regular expression per value). Any text that is no date or number at all raises; then
            # every value is checked for its shape first, which never raises and costs a few seconds.
            with transaction.atomic():
                cursor.execute(_check_sql(**CAST), parameters)
        except DataError:
            cursor.execute(_check_sql(**SHAPE_FIRST), parameters)
        cursor.execute(f"SELECT file_row FROM {CHECKED} WHERE NOT good")
        bad_rows = [row for (row,) in cursor.fetchall()]
        if not bad_rows:
            return
        texts = ", ".join(_clean(f"stage.{connection.ops.quote_name(name)}") for name in STAGED_COLUMNS)
        stored = ", ".join(f"invoice.{name}" for name in StoredInvoice._fields)
        cursor.execute(
            f"SELECT checked.file_row, {texts}, checked.customer_id, checked.given_before, {stored} "
            f"FROM {CHECKED} AS checked JOIN {STAGE} AS stage ON stage.file_row = checked.file_row "
            f"LEFT JOIN {TABLES['invoices']} AS invoice ON invoice.number = checked.number "
            f"WHERE checked.file_row = ANY(%(rows)s) ORDER BY checked.file_row",
            {**parameters, "rows": bad_rows},
        )
        for record in cursor:
            row_number, values, customer_id, given_before, stored_values = (
                record[0], record[1:8], record[8], record[9], record[10:]
            )  # fmt: skip
            invoice = StoredInvoice(*stored_values) if stored_values[0] else None
            yield row_number, values, customer_id, given_before, invoice


def merge_checked() -> BulkResult:
    """Write the checked rows: new invoices inserted, changed ones updated, unchanged ones untouched.

    An invoice is updated only if its payments and status are still as the check read them (the
    check takes no locks); one that moved meanwhile fails the import with an IntegrityError.
    Invoices whose status the new amount moves (open <-> paid) get an audit entry, as in the batch path.
    """
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FILTER (WHERE stored_id IS NULL), count(*) FILTER (WHERE changed), count(*) "
            f"FROM {CHECKED}"
        )
        created, updated, total = cursor.fetchone()
        # Before the update: a changed invoice moves past days from its old issue date or its new one,
        # and the figures of the customer it leaves as well as the one it goes to. Only the changed rows
        # are joined to the invoices (a file of new invoices joins nothing: ~3 s saved on a million).
        cursor.execute(
            f"SELECT (SELECT min(issue_date) FROM {CHECKED} WHERE stored_id IS NULL OR changed), "
            f"min(invoice.issue_date), array_agg(DISTINCT invoice.customer_id) "
            f"FROM {CHECKED} AS checked "
            f"JOIN {TABLES['invoices']} AS invoice ON invoice.id = checked.stored_id "
            f"WHERE checked.changed"
        )
        earliest_new, earliest_stored, customers_left = cursor.fetchone()
        earliest_issue = min(filter(None, (earliest_new, earliest_stored)), default=None)
        cursor.execute(INSERT_SQL.format(**TABLES), {"now": now})
        cursor.execute(UPDATE_SQL.format(**TABLES), {"now": now})
        if cursor.rowcount != updated:
            raise IntegrityError("invoices were paid or their status changed while the import checked them")
        cursor.execute(
            f"SELECT stored_id, customer_id, number, stored_status, new_status FROM {CHECKED} "
            f"WHERE changed AND stored_status <> new_status"
        )
        moved = cursor.fetchall()
        cursor.execute(
            f"SELECT customer_id, bool_or(changed) FROM {CHECKED} WHERE stored_id IS NULL OR changed "
            f"GROUP BY customer_id"
        )
        touched = cursor.fetchall()
        cursor.execute(f"DROP TABLE {STAGE}, {CHECKED}")
    record_changes(
        Invoice,
        (Change(pk, customer_id, number, {"status": (before, after)})
         for pk, customer_id, number, before, after in moved),
    )  # fmt: skip
    # Customers who only got new invoices: "new_invoices", which leaves their worth-it scores alone
    # (nothing was paid on a new invoice); with a 1,000-customer import re-ranking a currency's
    # scores, that was most of the import's upkeep. Changed invoices move more ("invoices").
    changed = {customer_id for customer_id, was_changed in touched if was_changed} | set(customers_left or ())
    announce_change(customer_ids=changed, facts={"invoices"}, earliest_day=earliest_issue)
    announce_change(
        customer_ids={customer_id for customer_id, _ in touched} - changed,
        facts={"new_invoices"},
        earliest_day=earliest_issue,
    )
    return BulkResult(created=created, updated=updated, unchanged=total - created - updated)


TABLES = {
    "stage": STAGE,
    "checked": CHECKED,
    "customers": Customer._meta.db_table,
    "invoices": Invoice._meta.db_table,
}


def _date(column: str) -> str:
    """SQL: the text as a date when it is a real YYYY-MM-DD day, else NULL; never raises."""
    year, month, day = (
        f"substr({column}, {start}, {length})::integer" for start, length in ((1, 4), (6, 2), (9, 2))
    )
    leap = f"({year} %% 4 = 0 AND ({year} %% 100 <> 0 OR {year} %% 400 = 0))"
    return (
        f"CASE WHEN {column} ~ %(date_pattern)s THEN CASE WHEN {year} > 0 AND {month} BETWEEN 1 AND 12 "
        f"AND {day} BETWEEN 1 AND (ARRAY[31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[{month}] "
        f"AND ({month} <> 2 OR {day} < 29 OR {leap}) THEN {column}::date END END"
    )


# The two ways to type the texts: `typed` gives issue_date, due_date and amount; `shaped` says
# whether the texts had the shapes the file format allows (YYYY-MM-DD, a plain decimal).
CAST = {
    "typed": "issue_text::date AS issue_date, due_text::date AS due_date, amount_text::numeric AS amount",
    "shaped": "length(issue_text) = 10 AND issue_date::text = issue_text AND length(due_text) = 10 "
    "AND due_date::text = due_text AND (amount::text = amount_text OR amount_text ~ %(amount_pattern)s)",
}
SHAPE_FIRST = {
    "typed": f"{_date('issue_text')} AS issue_date, {_date('due_text')} AS due_date, "
    "CASE WHEN amount_text ~ %(amount_pattern)s AND length(amount_text) <= 1000 "
    "THEN amount_text::numeric END AS amount",
    "shaped": "true",  # a text of the wrong shape is typed as NULL, which is not well formed
}


def _check_sql(*, typed: str, shaped: str) -> str:
    cleaned = ", ".join(
        f"{_clean(connection.ops.quote_name(name))} AS {name}"
        for name in ("number", "account_number", "currency", "description")
    )
    return CHECK_SQL.format(cleaned=cleaned, typed=typed, shaped=shaped, **TABLES)


def _clean(column: str) -> str:
    """SQL: the text as the checks read it: no whitespace around it, currencies in capitals."""
    text = f"btrim(coalesce({column}, ''), %(whitespace)s)"
    return f"upper({text})" if column.endswith('currency"') else text


# One pass over the staged rows: clean (strip, upper-case the currency), type (CAST or SHAPE_FIRST),
# find the customer and the stored invoice, decide what can be decided row by row, then count each
# number's well-formed occurrences so far (a number given twice). The table keeps only what the merge
# needs, so the sort for that count and the table stay narrow.
# A row is "well formed" when each value has its shape (what imports.parse_invoice_row checks); only
# those go on to the checks against the others and the database, as in the batch path.
# "OFFSET 0" keeps each step a subquery of its own: PostgreSQL would otherwise fold the steps into
# one and compute a column (a date's CASE, an amount's regex) again wherever a later step names it.
CHECK_SQL = """
CREATE TEMPORARY TABLE {checked} AS
WITH cleaned AS (
    SELECT file_row, {cleaned},
        btrim(coalesce(issue_date, ''), %(whitespace)s) AS issue_text,
        btrim(coalesce(due_date, ''), %(whitespace)s) AS due_text,
        btrim(coalesce(amount, ''), %(whitespace)s) AS amount_text
    FROM {stage} OFFSET 0
), typed AS (
    SELECT cleaned.*, {typed}
    FROM cleaned OFFSET 0
), parsed AS (
    SELECT file_row, number, account_number, currency, description, issue_date, due_date, amount,
        number <> '' AND account_number <> '' AND issue_date IS NOT NULL AND due_date IS NOT NULL
        AND amount > 0 AND amount = round(amount, 2) AND amount < %(max_money)s
        AND currency = ANY(%(currencies)s) AND {shaped} AS well_formed
    FROM typed OFFSET 0
), found AS (
    SELECT p.file_row, p.number, customer.id AS customer_id, p.issue_date, p.due_date, p.amount,
        p.currency, p.description, well_formed,
        invoice.id AS stored_id, invoice.status AS stored_status,
        invoice.allocated_amount AS stored_allocated_amount,
        coalesce(well_formed AND length(p.number) <= 40 AND customer.id IS NOT NULL
            AND p.due_date >= p.issue_date AND length(p.description) <= 300
            AND NOT (coalesce(invoice.allocated_amount, 0) > 0 AND (p.currency <> invoice.currency
                     OR customer.id <> invoice.customer_id OR p.amount < invoice.allocated_amount)),
            false) AS good_alone,
        invoice.id IS NOT NULL
        AND (customer.id, p.issue_date, p.due_date, p.amount, p.currency, p.description)
            IS DISTINCT FROM (invoice.customer_id, invoice.issue_date, invoice.due_date, invoice.amount,
                              invoice.currency, invoice.description) AS changed,
        CASE WHEN invoice.status IN ('open', 'paid') THEN
            CASE WHEN invoice.allocated_amount >= p.amount THEN 'paid' ELSE 'open' END
        ELSE invoice.status END AS new_status
    FROM parsed AS p
    LEFT JOIN {customers} AS customer ON customer.account_number = p.account_number
    LEFT JOIN {invoices} AS invoice ON invoice.number = p.number
    OFFSET 0
)
SELECT file_row, number, customer_id, issue_date, due_date, amount, currency, description,
    stored_id, stored_status, stored_allocated_amount, changed, new_status,
    given_before, good_alone AND NOT given_before AS good
FROM (
    SELECT found.*, coalesce(well_formed AND count(*) FILTER (WHERE well_formed) OVER (
        PARTITION BY number ORDER BY file_row ROWS UNBOUNDED PRECEDING) > 1, false) AS given_before
    FROM found
) AS counted
"""

INSERT_SQL = """
INSERT INTO {invoices} (number, customer_id, issue_date, due_date, amount, currency, description,
                        allocated_amount, status, created_at, updated_at)
SELECT number, customer_id, issue_date, due_date, amount, currency, description, 0, 'open', %(now)s, %(now)s
FROM {checked} WHERE stored_id IS NULL
"""

UPDATE_SQL = """
UPDATE {invoices} AS invoice SET customer_id = c.customer_id, issue_date = c.issue_date,
    due_date = c.due_date, amount = c.amount, currency = c.currency, description = c.description,
    status = c.new_status, updated_at = %(now)s
FROM {checked} AS c
WHERE c.changed AND invoice.id = c.stored_id
    AND invoice.allocated_amount = c.stored_allocated_amount AND invoice.status = c.stored_status
"""


def _csv_pieces(rows, width: int, count: list[int], on_bad_width, progress) -> Iterator[str]:
    """The records as CSV text for COPY, each with its row number last, CHUNK_ROWS at a time."""
    buffer = io.StringIO()
    write = csv.writer(buffer).writerow
    row_number, pending = 1, 0
    for record in rows:
        if not record:  # a blank line: skipped and not counted, as csv.DictReader does
            continue
        row_number += 1
        if len(record) != width:
            on_bad_width(row_number)
        else:
            record.append(row_number)
            write(record)
        pending += 1
        if pending == CHUNK_ROWS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            if progress:
                progress(pending)
            pending = 0
    count[0] = row_number - 1
    yield buffer.getvalue()
    if progress and pending:
        progress(pending)


class _CountingReader:
    """The file for copy_expert, ticking the progress bar by the lines each piece holds."""

    def __init__(self, file, progress):
        self._file, self._progress = file, progress

    def read(self, size: int = -1) -> bytes:
        piece = self._file.read(size)
        if self._progress and piece:
            self._progress(piece.count(b"\n"))
        return piece


class _CopyStream:
    """A file-like object over text pieces, for psycopg2's copy_expert (which calls read until "")."""

    def __init__(self, pieces: Iterator[str]):
        self._pieces = pieces

    def read(self, size: int = -1) -> str:
        for piece in self._pieces:
            if piece:
                return piece
        return ""
