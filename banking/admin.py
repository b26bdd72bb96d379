"""The admin of the banking app: read-mostly.

Statements and their transactions are written by `banking.services` alone (an import, a confirmation
from the cash queue): an edit here would move money around the services, so they are read-only.
The IBANs customers pay from are written by the services too (`add_customer_account` checks the IBAN,
a confirmation teaches a learned one); the admin may only delete one, to forget a link learned wrongly.
Who may open the admin at all is the site's question (creditdesk.admin_site asks customers.access); the model
permissions come from MODEL_CAPABILITIES through creditdesk/roles.py.
"""

from django.contrib import admin

from customers.admin import ReadOnlyAdminMixin

from .models import BankStatement, BankTransaction, CustomerBankAccount


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Rows the banking services write: viewable, never added, changed or deleted here."""


class BankTransactionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = BankTransaction
    extra = 0
    fields = ("entry_reference", "detail_number", "direction", "booking_date", "amount", "currency", "status")
    readonly_fields = fields
    show_change_link = True
    can_delete = False
    max_num = 0


@admin.register(BankStatement)
class BankStatementAdmin(ReadOnlyAdmin):
    list_display = ("account", "statement_id", "format", "created_on", "file_name", "imported_at")
    list_filter = ("format", "created_on")
    search_fields = ("account", "statement_id", "file_name")
    date_hierarchy = "imported_at"
    inlines = [BankTransactionInline]


@admin.register(BankTransaction)
class BankTransactionAdmin(ReadOnlyAdmin):
    list_display = (
        "booking_date",
        "statement_ref",
        "entry_reference",
        "direction",
        "amount",
        "currency",
        "counterparty_name",
        "status",
        "customer",
        "confidence",
    )
    list_filter = ("status", "direction", "currency", "booking_date")
    search_fields = (
        "counterparty_name",
        "counterparty_iban",
        "structured_reference",
        "remittance_text",
        "end_to_end_id",
        "customer__name",
        "customer__account_number",
    )
    date_hierarchy = "booking_date"
    list_select_related = ("customer",)
    raw_id_fields = ("statement", "customer", "payments")


@admin.register(CustomerBankAccount)
class CustomerBankAccountAdmin(ReadOnlyAdmin):
    list_display = ("iban", "customer", "source", "created_at")
    list_filter = ("source",)
    search_fields = ("iban", "customer__name", "customer__account_number")
    list_select_related = ("customer",)
    raw_id_fields = ("customer",)
    deletable = True  # forget a wrongly learned link
