"""The benchmark ledgers: template databases seeded once by `seed_demo`, copied fresh for every pass.

A template is named from DATABASE_URL (cd_x -> cd_x_bench20k, cd_x_bench50k) and is reused while its
marker row says it is complete for this ledger (customers, seed, today) and for the migrations on disk;
otherwise it is dropped and seeded again, and the seeding time (a target of its own) is kept in the
marker. Each measuring pass runs on `CREATE DATABASE ... TEMPLATE`, so what a load test writes never
reaches the next pass. The server's maintenance database (postgres) is used for CREATE/DROP only.
"""

import hashlib
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
TODAY = "2026-11-23"  # the day every benchmark ledger's history ends (the figures are for it)
MARKER_TABLE = "bench_ledger_marker"


@dataclass(frozen=True)
class Ledger:
    key: str
    customers: int
    seed: int


# The two ledgers, and a tiny one for the test that keeps this code from rotting (tests/bench/).
LEDGERS = {"20k": Ledger("20k", 20_000, 1), "50k": Ledger("50k", 50_000, 2), "tiny": Ledger("tiny", 40, 1)}


def database_url(url: str, name: str) -> str:
    """The same server and credentials as `url`, another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def template_name(url: str, ledger: Ledger) -> str:
    return f"{database_name(url)}_bench{ledger.key}"


def admin_connection(url: str):
    """An autocommit connection to the server's maintenance database (CREATE DATABASE can't run in a
    transaction, nor while connected to the database it copies)."""
    import psycopg2

    connection = psycopg2.connect(database_url(url, "postgres"))
    connection.autocommit = True
    return connection


def exists(url: str, name: str) -> bool:
    with admin_connection(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return cursor.fetchone() is not None


def drop(url: str, name: str) -> None:
    connection = admin_connection(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        connection.close()


def create(url: str, name: str, template: str | None = None) -> None:
    """CREATE DATABASE, as a copy of `template` when given; a copy retries while the template is busy
    (another pass or helper still connected to it)."""
    clause = f' TEMPLATE "{template}"' if template else ""
    connection = admin_connection(url)
    try:
        for attempt in range(10):
            try:
                with connection.cursor() as cursor:
                    cursor.execute(f'CREATE DATABASE "{name}"{clause}')
                return
            except Exception as error:  # psycopg2.errors.ObjectInUse: "source database is being accessed"
                if "being accessed" not in str(error) or attempt == 9:
                    raise
                time.sleep(20)
    finally:
        connection.close()


def migrations_fingerprint() -> str:
    """A hash of every migration file's name and content: a template built with other migrations is
    stale (rebuilt, not migrated, so its data is what seed_demo makes under the current schema)."""
    digest = hashlib.sha256()
    for path in sorted(ROOT.glob("*/migrations/[0-9]*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def read_marker(url: str) -> dict | None:
    import psycopg2

    try:
        connection = psycopg2.connect(url)
    except psycopg2.OperationalError:
        return None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", [MARKER_TABLE])
            if cursor.fetchone()[0] is None:
                return None
            cursor.execute(
                f"SELECT ledger, customers, seed, today, migrations, seed_seconds, source FROM {MARKER_TABLE}"
            )
            row = cursor.fetchone()
            if row is None:
                return None
            cursor.execute("SELECT count(*) FROM customers_customer")
            counted = cursor.fetchone()[0]
    finally:
        connection.close()
    keys = ("ledger", "customers", "seed", "today", "migrations", "seed_seconds", "source")
    return {**dict(zip(keys, row, strict=True)), "counted_customers": counted}


def write_marker(url: str, ledger: Ledger, seed_seconds: float | None, source: str) -> None:
    """Written last, after seeding finished: a template without it is incomplete and is rebuilt."""
    import psycopg2

    connection = psycopg2.connect(url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (ledger text, customers integer, seed integer, "
                "today date, migrations text, seed_seconds double precision, source text, "
                "built_at timestamptz DEFAULT now())"
            )
            cursor.execute(f"DELETE FROM {MARKER_TABLE}")
            cursor.execute(
                f"INSERT INTO {MARKER_TABLE} (ledger, customers, seed, today, migrations, seed_seconds, "
                "source) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [ledger.key, ledger.customers, ledger.seed, TODAY, migrations_fingerprint(), seed_seconds,
                 source],
            )  # fmt: skip
    finally:
        connection.close()


def is_complete(marker: dict | None, ledger: Ledger) -> bool:
    return (
        marker is not None
        and marker["customers"] == ledger.customers == marker["counted_customers"]
        and marker["seed"] == ledger.seed
        and str(marker["today"]) == TODAY
        and marker["migrations"] == migrations_fingerprint()
    )


def manage(url: str, *arguments: str, quiet: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url}
    output = subprocess.DEVNULL if quiet else None
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *arguments], cwd=ROOT, env=env, check=True, stdout=output
    )


def ensure_template(url: str, ledger: Ledger, log=print) -> dict:
    """The ledger's template, built (or adopted) when missing or stale; returns its marker.

    BENCH_ADOPT_<KEY> (e.g. BENCH_ADOPT_20K=cd_big20k) makes the template a copy of an existing ledger
    seeded the same way instead of seeding it (minutes instead of half an hour); its seeding time is
    then unknown and reported as not measured.
    """
    name = template_name(url, ledger)
    template_url = database_url(url, name)
    marker = read_marker(template_url) if exists(url, name) else None
    if is_complete(marker, ledger):
        log(f"ledger {ledger.key}: reusing template {name} (seeded in {describe_seconds(marker)})")
        return marker
    drop(url, name)
    adopt = os.environ.get(f"BENCH_ADOPT_{ledger.key.upper()}")
    if adopt:
        log(f"ledger {ledger.key}: copying {adopt} into template {name} (BENCH_ADOPT_{ledger.key.upper()})")
        create(url, name, template=adopt)
        manage(template_url, "migrate", "--noinput", "-v0")
        # A ledger seeded by an older schema: its kept figures are built as seed_demo builds them now.
        manage(template_url, "rebuild_standings", "-v0", quiet=True)
        manage(template_url, "rebuild_worth_it", f"--today={TODAY}", "-v0", quiet=True)
        fill_snapshots(template_url, ledger, log)
        vacuum(template_url, ledger, log)
        write_marker(template_url, ledger, None, f"copy of {adopt}")
    else:
        log(
            f"ledger {ledger.key}: seeding template {name} "
            f"({ledger.customers:,} customers, seed {ledger.seed})"
        )
        create(url, name)
        manage(template_url, "migrate", "--noinput", "-v0")
        started = time.perf_counter()
        manage(
            template_url, "seed_demo", f"--customers={ledger.customers}", f"--seed={ledger.seed}",
            f"--today={TODAY}", "-v0", quiet=True,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        log(f"ledger {ledger.key}: seeded in {seconds:.0f} s")
        fill_snapshots(template_url, ledger, log)
        vacuum(template_url, ledger, log)
        write_marker(template_url, ledger, seconds, "seed_demo")
    return read_marker(template_url)


def fill_snapshots(template_url: str, ledger: Ledger, log=print) -> None:
    """The reports' daily and monthly snapshots of the last 16 months, as a deployment backfills them once
    (`snapshot_ledger --months 16`); the nightly task keeps them after that. Timed apart from seeding.

    16 months, not 13: the DSO trend's oldest point (12 month ends back) also reads the opening day of
    its 3-month period; with 13 months that day was missing and every trend read the ledger live
    (as of 2026-10-31 on 20k: 3.2 s with 13 months, 0.2 s with 16, load ~13)."""
    started = time.perf_counter()
    manage(template_url, "snapshot_ledger", "--months=16", f"--today={TODAY}", "-v0", quiet=True)
    log(f"ledger {ledger.key}: 13 months of report snapshots filled in {time.perf_counter() - started:.0f} s")


def vacuum(template_url: str, ledger: Ledger, log=print) -> None:
    """VACUUM (ANALYZE) the freshly loaded ledger, as autovacuum does on a running deployment soon
    after a bulk load. Without it (a server with autovacuum off, as this project's CI machine has) no
    page is marked all-visible, so no index-only scan skips the table: today's aging read 40,000 heap
    pages of invoices through its covering index (0.5 s on 50,000 customers, 0.24 s vacuumed)."""
    import psycopg2

    started = time.perf_counter()
    connection = psycopg2.connect(template_url)
    connection.autocommit = True  # VACUUM can't run in a transaction
    try:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
    finally:
        connection.close()
    log(f"ledger {ledger.key}: vacuumed in {time.perf_counter() - started:.0f} s")


def describe_seconds(marker: dict) -> str:
    seconds = marker.get("seed_seconds")
    return "an unmeasured time" if seconds is None else f"{seconds:.0f} s"


@contextmanager
def fresh_copy(url: str, ledger: Ledger):
    """A throwaway copy of the ledger's template for one measuring pass; yields its URL, drops it after."""
    name = f"{template_name(url, ledger)}_pass"
    drop(url, name)
    create(url, name, template=template_name(url, ledger))
    try:
        yield database_url(url, name)
    finally:
        drop(url, name)
