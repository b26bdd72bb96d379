from django.contrib import admin

from customers.admin import ReadOnlyAdminMixin

from .models import Allocation, Invoice, Payment


class AllocationInline(admin.TabularInline):
    model = Allocation
    extra = 0
    raw_id_fields = ("invoice", "payment")
    readonly_fields = ("payment", "invoice", "amount")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # allocations go through invoices.services.allocate, which keeps the sums


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "customer",
        "issue_date",
        "due_date",
        "amount",
        "allocated_amount",
        "currency",
        "status",
    )
    list_filter = ("status", "currency", "due_date", "customer__segment")
    search_fields = ("number", "customer__name", "customer__account_number")
    date_hierarchy = "due_date"
    list_select_related = ("customer",)
    raw_id_fields = ("customer",)
    readonly_fields = ("allocated_amount",)
    inlines = [AllocationInline]


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ("reference", "customer", "received_on", "amount", "allocated_amount", "currency")
    list_filter = ("currency", "received_on")
    search_fields = ("reference", "customer__name", "customer__account_number")
    date_hierarchy = "received_on"
    list_select_related = ("customer",)
    raw_id_fields = ("customer",)
    readonly_fields = ("allocated_amount",)
    inlines = [AllocationInline]


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("payment", "invoice", "amount")
    search_fields = ("payment__reference", "invoice__number")
    list_select_related = ("payment", "invoice")
    raw_id_fields = ("payment", "invoice")
    deletable = True
