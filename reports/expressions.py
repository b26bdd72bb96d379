"""SQL expressions the reports need that Django does not ship, written for SQLite and PostgreSQL."""

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Func, IntegerField

CENT = Decimal("0.01")
# Memory for one report statement's sorts over the whole ledger (PostgreSQL's default, 4 MB, sent the
# effort curve's sort of 50,000 customers to a temporary file: 60 of its 236 ms).
WORK_MEM = "64MB"


@contextmanager
def roomy_cursor(alias: str = DEFAULT_DB_ALIAS) -> Iterator:
    """A cursor whose statements sort in memory (WORK_MEM), for this transaction only."""
    with transaction.atomic(using=alias, savepoint=False), connections[alias].cursor() as cursor:
        if connections[alias].vendor == "postgresql":
            cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        yield cursor


class DaysBetween(Func):
    """Whole days from `earlier` to `later` (two DateField expressions); negative when later is earlier."""

    output_field = IntegerField()
    arity = 2

    def __init__(self, later, earlier, **extra):
        super().__init__(later, earlier, **extra)

    def as_sql(self, compiler, connection, **extra_context):
        # PostgreSQL: date - date is an integer number of days.
        return super().as_sql(compiler, connection, template="(%(expressions)s)", arg_joiner=" - ")

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            template="CAST(julianday(%(expressions)s) AS INTEGER)",
            arg_joiner=") - julianday(",
        )


def decimal_cents(value) -> Decimal:
    """Whole cents (an int or an int64) as a Decimal of the currency unit."""
    return Decimal(int(value)).scaleb(-2)


def cents(value) -> Decimal:
    """A money sum read back from the database, to the cent.

    SQLite sums decimals as floats and Django does not round aggregates back to the field's places,
    so 0.1 + 0.2 comes back as 0.30000000000000004; PostgreSQL sums exactly and is unchanged.
    """
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)
