"""`manage.py import_payments FILE.csv`: record payments and their allocations from a CSV file."""

from invoices.imports import PAYMENT_COLUMNS, PAYMENT_OPTIONAL, import_payments

from ._importing import ImportCommand


class Command(ImportCommand):
    help = (
        f"Record payments from a CSV file with columns {', '.join(PAYMENT_COLUMNS)} (optional: "
        f"{', '.join(PAYMENT_OPTIONAL)}; consecutive rows with one reference split a payment over invoices). "
        "Nothing is written when any row is bad."
    )
    importer = staticmethod(import_payments)
    noun = "payments"
