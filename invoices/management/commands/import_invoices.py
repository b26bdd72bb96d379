"""`manage.py import_invoices FILE.csv`: create or update invoices from a CSV file, all or nothing."""

from invoices.imports import INVOICE_COLUMNS, INVOICE_OPTIONAL, import_invoices

from ._importing import ImportCommand


class Command(ImportCommand):
    help = (
        f"Create or update invoices by number from a CSV file with columns {', '.join(INVOICE_COLUMNS)} "
        f"(optional: {', '.join(INVOICE_OPTIONAL)}). Nothing is written when any row is bad."
    )
    importer = staticmethod(import_invoices)
    noun = "invoices"
