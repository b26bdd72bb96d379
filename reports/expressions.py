"""SQL expressions the reports need that Django does not ship, written for SQLite and PostgreSQL."""

from django.db.models import Func, IntegerField


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
