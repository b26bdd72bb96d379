"""Inserting many rows given as plain tuples: COPY on PostgreSQL, bulk INSERTs elsewhere.

Shared by the apps' bulk paths (invoice imports and syncs, the demo ledger): building a model
instance per row costs more than the database's own work once there are hundreds of thousands.
It lives in `customers`, the app every other one depends on, like `changes` and `fields`.
"""

import csv
import io
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models import Model


def insert_rows(
    model: type[Model], columns: Sequence[str], rows: Iterable[tuple], *, batch_size: int = 1000
) -> None:
    """Insert `rows`, each a tuple of values for `columns` (field names or attnames) in that order.

    On PostgreSQL one COPY: the fastest way in, and the table's constraints and foreign keys still
    check every row (a bad one fails the whole transaction). Values go as their text (Decimal,
    date, aware datetime, bool as Python writes them); None is NULL. A column that cannot be NULL
    reads an empty value as "", so a blank text stays blank; in a nullable column "" is NULL too.
    Elsewhere (SQLite) model instances through bulk_create, so Django converts the values.
    """
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        attnames = [model._meta.get_field(name).attname for name in columns]
        model.objects.bulk_create(
            (model(**dict(zip(attnames, row, strict=True))) for row in rows), batch_size=batch_size
        )
        return
    data = csv_data(rows)
    if data:
        with connection.cursor() as cursor:
            copy_data(cursor.cursor, copy_statement(model, columns), data)


def copy_statement(model: type[Model], columns: Sequence[str]) -> str:
    """PostgreSQL's COPY of `columns` of `model` from `csv_data`."""
    quote = transaction.get_connection().ops.quote_name
    fields = [model._meta.get_field(name) for name in columns]
    not_null = ", ".join(quote(field.column) for field in fields if not field.null)
    options = f"FORMAT csv, FORCE_NOT_NULL ({not_null})" if not_null else "FORMAT csv"
    names = ", ".join(quote(field.column) for field in fields)
    return f"COPY {quote(model._meta.db_table)} ({names}) FROM STDIN WITH ({options})"


def csv_data(rows: Iterable[tuple]) -> bytes:
    """The rows as COPY reads them (see `insert_rows` for NULL and ""), encoded: b"" when there are none."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def copy_data(cursor, statement: str, data: bytes) -> None:
    """Run a `copy_statement` on a psycopg2 cursor, sending `data` in one piece (few calls into Python,
    so a COPY run from a thread hardly waits for the interpreter lock)."""
    cursor.copy_expert(statement, io.BytesIO(data), size=max(len(data), 8192))


def update_rows(
    model: type[Model], columns: Sequence[str], rows: Iterable[tuple], *, batch_size: int = 1000
) -> None:
    """Set `columns` (field names) of existing rows: each tuple is the primary key then the new values.

    On PostgreSQL one UPDATE ... FROM (VALUES ...) per batch: Django's bulk_update builds a CASE per
    column over every row, whose expressions cost seconds of Python for ten thousand rows. Elsewhere
    (SQLite) bulk_update itself. Rows are updated in the order given (sort them to lock in one order).
    """
    rows = list(rows)
    if not rows:
        return
    connection = transaction.get_connection()
    key = model._meta.pk
    fields = [model._meta.get_field(name) for name in columns]
    if connection.vendor != "postgresql":
        model.objects.bulk_update(
            [model(**{key.attname: pk, **dict(zip(columns, values, strict=True))}) for pk, *values in rows],
            list(columns),
            batch_size=batch_size,
        )
        return
    from psycopg2.extras import execute_values

    quote = connection.ops.quote_name
    names = [quote(field.column) for field in fields]
    setting = ", ".join(f"{name} = v.{name}" for name in names)
    sql = (
        f"UPDATE {quote(model._meta.db_table)} AS t SET {setting} "
        f"FROM (VALUES %s) AS v(key, {', '.join(names)}) WHERE t.{quote(key.column)} = v.key"
    )
    casts = [field.db_type(connection) for field in [key, *fields]]
    template = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            execute_values(cursor.cursor, sql, batch, template=template, page_size=len(batch))


def replace_rows(
    model: type[Model],
    rows: Sequence[Model],
    *,
    customer_ids: Iterable[int],
    unique_fields: Sequence[str],
    batch_size: int = 2000,
) -> None:
    """Make `rows` the kept rows of these customers: upsert them on `unique_fields`, then delete the
    customers' rows the upsert did not write.

    Two writers may refresh the same customer at once (two payments of one customer committing side by
    side). A delete-then-insert would then insert the same key twice; the upsert waits for the other
    writer's row and overwrites it instead. Rows go in key order, so two writers lock shared rows in the
    same order and wait for each other rather than deadlock."""
    ordered = sorted(
        rows, key=lambda row: tuple(getattr(row, _attname(model, name)) for name in unique_fields)
    )
    update_fields = [
        field.name
        for field in model._meta.concrete_fields
        if not field.primary_key and field.name not in unique_fields
    ]
    if ordered:
        model.objects.bulk_create(
            ordered,
            batch_size=batch_size,
            update_conflicts=True,
            unique_fields=list(unique_fields),
            update_fields=update_fields,
        )
    written = [row.pk for row in ordered]
    model.objects.filter(customer_id__in=list(customer_ids)).exclude(pk__in=written).delete()


def _attname(model: type[Model], name: str) -> str:
    return model._meta.get_field(name).attname
