"""Benchmark: ERP sync throughput, bulk API and CSV import, against COPY into a bare table as the floor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_big_api python -m bench api

Writes (use a copy of the big database, or a fresh migrated one). Prints figures; asserts nothing.
- Bulk API: POST /api/v1/invoices/bulk/ with 5,000 invoices per request, through Django's test
  client (in-process: the whole view, serializers, services and database, but no socket), for new
  invoices, the same batches re-sent (nothing changes) and the batches with every amount changed.
- CSV import: `import_invoices` on a generated file of BENCH_IMPORT_ROWS rows (default 1,000,000),
  then the same file again (nothing changes), then with every amount changed (every invoice updated).
  The floor is the COPY of the same invoices straight into invoices_invoice (indexes, FK, CHECKs,
  commit), with no checking at all; for reference, the COPY of the file into an unindexed table.
Every invoice this writes has a number starting with BENCH-; they are deleted at the end.
"""

import csv
import os
import tempfile
import time
from pathlib import Path

BATCH = 5000
REQUESTS = int(os.environ.get("BENCH_BULK_REQUESTS", "10"))
IMPORT_ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "1000000"))
CUSTOMERS = 1000


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditdesk.settings")
    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        print("needs PostgreSQL (COPY is the floor): set DATABASE_URL")
        return
    accounts = ensure_customers()
    print(f"database: {connection.settings_dict['NAME']}; {len(accounts)} customers used")
    try:
        bulk_api(accounts)
        csv_import(accounts)
    finally:
        remove_bench_rows()


def ensure_customers() -> list[str]:
    from customers.models import Customer

    accounts = [f"BENCH-C{n:05d}" for n in range(CUSTOMERS)]
    existing = set(
        Customer.objects.filter(account_number__in=accounts).values_list("account_number", flat=True)
    )
    Customer.objects.bulk_create(
        Customer(account_number=a, name=f"Bench customer {a}") for a in accounts if a not in existing
    )
    return accounts


def invoice_items(start: int, count: int, accounts: list[str], cents: int = 0) -> list[dict]:
    return [
        {
            "number": f"BENCH-API-{n:08d}",
            "customer": accounts[n % len(accounts)],
            "issue_date": "2026-10-01",
            "due_date": "2026-10-31",
            "amount": f"{100 + n % 900}.{cents:02d}",
            "currency": "EUR",
        }
        for n in range(start, start + count)
    ]


def bulk_api(accounts: list[str]) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.test import APIClient

    from creditdesk.tokens import issue_token
    from customers.access import Role

    user, _ = get_user_model().objects.get_or_create(username="bench-integrator")
    user.groups.add(Group.objects.get(name=Role.INTEGRATOR.label))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user).key}")
    total = REQUESTS * BATCH
    for label, cents in (("new invoices", 0), ("re-sent, unchanged", 0), ("every amount changed", 50)):
        started = time.perf_counter()
        for request in range(REQUESTS):
            body = {"invoices": invoice_items(request * BATCH, BATCH, accounts, cents)}
            response = client.post("/api/v1/invoices/bulk/", body, format="json")
            assert response.status_code == 200, response.content[:500]
        seconds = time.perf_counter() - started
        print(
            f"bulk API, {label:<21} {total:>9,} invoices in {REQUESTS} requests of {BATCH:,}: "
            f"{seconds:7.2f} s = {total / seconds:9,.0f} invoices/s ({seconds / REQUESTS:.2f} s per request)"
        )


def csv_import(accounts: list[str], rows: int = IMPORT_ROWS) -> dict:
    """import_invoices of `rows` new invoices, then the same file again and every amount changed,
    against COPY into the real table (the floor); prints each and returns the figures in seconds."""
    from django.db import connection

    from invoices.imports import import_invoices

    figures = {"rows": rows}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "invoices.csv"
        write_csv(path, accounts, rows=rows)
        changed = Path(folder) / "invoices-changed.csv"
        write_csv(changed, accounts, cents_added=1, rows=rows)
        size = path.stat().st_size / 2**20
        print(f"CSV file: {rows:,} rows, {size:.0f} MiB; load average {load_average()}")
        floor = figures["copy_bare_s"] = copy_floor(path, connection)
        print(f"COPY into a bare table: {floor:7.2f} s = {rows / floor:9,.0f} rows/s")
        table = figures["copy_table_s"] = copy_into_invoices(Path(folder), accounts, connection, rows=rows)
        print(
            f"COPY into invoices_invoice, indexes and constraints, committed (floor): {table:7.2f} s"
            f" = {rows / table:9,.0f} rows/s"
        )
        for key, label, file in (
            ("import_s", "first import", path),
            ("reimport_s", "re-import, unchanged", path),
            ("changed_s", "every amount changed", changed),
        ):
            started = time.perf_counter()
            report = import_invoices(file)
            seconds = figures[key] = time.perf_counter() - started
            assert report.ok, [str(e) for e in report.errors[:5]]
            result = report.result
            figures[key.replace("_s", "_created")] = result.created
            print(
                f"import_invoices, {label:<21} {seconds:7.2f} s = {rows / seconds:9,.0f} rows/s "
                f"({seconds / table:.2f}x the floor; {result.created:,} created, {result.updated:,} updated, "
                f"{result.unchanged:,} unchanged)"
            )
        print(f"load average {load_average()}")
    return figures


def import_vs_copy(rows: int = IMPORT_ROWS) -> dict:
    """The import benchmark alone, for `make bench`: figures as a dict; the BENCH- rows removed after."""
    accounts = ensure_customers()
    try:
        return csv_import(accounts, rows)
    finally:
        remove_bench_rows()


def load_average() -> str:
    """The machine's load (1, 5, 15 minutes): on a shared 2-core machine, figures move with it."""
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


def write_csv(path: Path, accounts: list[str], cents_added: int = 0, rows: int = IMPORT_ROWS) -> None:
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            ["number", "account_number", "issue_date", "due_date", "amount", "currency", "description"]
        )
        for n in range(rows):
            writer.writerow(
                [f"BENCH-CSV-{n:08d}", accounts[n % len(accounts)], "2026-09-01", "2026-10-01",
                 f"{10 + n % 5000}.{(n + cents_added) % 100:02d}", "EUR", ""]
            )  # fmt: skip


def copy_floor(path: Path, connection) -> float:
    """Seconds to COPY the file into a temporary table with the same columns and no index."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_copy (number varchar(40), account_number varchar(40), "
            "issue_date date, due_date date, amount numeric(14, 2), currency varchar(3), "
            "description varchar(300))"
        )
        started = time.perf_counter()
        with open(path) as file:
            cursor.cursor.copy_expert("COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)", file)
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_copy")
    return seconds


def copy_into_invoices(folder: Path, accounts: list[str], connection, rows: int = IMPORT_ROWS) -> float:
    """Seconds to COPY the same invoices, customers already resolved, into the real table and commit.

    What the table's unique number, indexes, foreign key and CHECKs cost on their own, with no parsing
    or checking in Python at all, and the commit (writing a million rows' WAL to disk is seconds of
    it, and an import must commit too): the import can come near this, not below it. The rows are
    deleted and the table vacuumed afterwards, so the imports start from the same table.
    """
    from customers.models import Customer
    from invoices.services import NEW_INVOICE_COLUMNS

    ids = dict(Customer.objects.filter(account_number__in=accounts).values_list("account_number", "pk"))
    path, now = folder / "invoice_rows.csv", "2026-11-23T08:00:00+00:00"
    with open(path, "w", newline="") as file:
        writer = csv.writer(file, quoting=csv.QUOTE_ALL)
        for n in range(rows):
            writer.writerow(
                [f"BENCH-CPY-{n:08d}", ids[accounts[n % len(accounts)]], "2026-09-01", "2026-10-01",
                 f"{10 + n % 5000}.{n % 100:02d}", "EUR", "", "0.00", "open", now, now]
            )  # fmt: skip
    columns = ", ".join(NEW_INVOICE_COLUMNS)
    with connection.cursor() as cursor, open(path) as file:
        started = time.perf_counter()
        cursor.execute("BEGIN")
        cursor.cursor.copy_expert(f"COPY invoices_invoice ({columns}) FROM STDIN WITH (FORMAT csv)", file)
        cursor.execute("COMMIT")
        seconds = time.perf_counter() - started
        cursor.execute("DELETE FROM invoices_invoice WHERE number LIKE 'BENCH-CPY-%%'")
        cursor.execute("VACUUM invoices_invoice")
    return seconds


def remove_bench_rows() -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from customers.models import Customer

    with connection.cursor() as cursor:  # a million rows: one statement, not the ORM's collector
        cursor.execute("DELETE FROM invoices_invoice WHERE number LIKE 'BENCH-%%'")
    Customer.objects.filter(account_number__startswith="BENCH-C").delete()
    get_user_model().objects.filter(username="bench-integrator").delete()
