"""Two indexes every invoice write kept up and no read used.

- The customer's own index: (customer, status, due_date) starts with the customer and serves every
  lookup by it.
- The `varchar_pattern_ops` copy of the unique number that Django adds on PostgreSQL for LIKE 'prefix%':
  nothing searches numbers by prefix (the invoice search is `icontains`, which no btree serves), and
  the unique index answers every equality. Django keeps no state for it, so it is dropped by name; a
  later change of the column's type would make Django add it again.
"""

import django.db.models.deletion
from django.db import migrations, models

LIKE_INDEX = "invoices_invoice_number_a7116fce_like"


def drop_like_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {LIKE_INDEX}")


def create_like_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {LIKE_INDEX} ON invoices_invoice (number varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0004_customer_updated_at_index"),
        ("invoices", "0002_open_invoice_aging_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="invoice",
            name="customer",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="invoices",
                to="customers.customer",
            ),
        ),
        migrations.RunPython(drop_like_index, create_like_index, elidable=False),
    ]
