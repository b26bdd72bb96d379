from django.contrib import admin

from .models import Agreement, Instalment


class InstalmentInline(admin.TabularInline):
    model = Instalment
    extra = 0


@admin.register(Agreement)
class AgreementAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "customer",
        "kind",
        "state",
        "total_amount",
        "currency",
        "made_on",
        "closed_on",
        "made_by",
    )
    list_filter = ("kind", "state", "currency", "made_on")
    search_fields = ("customer__name", "customer__account_number", "notes")
    date_hierarchy = "made_on"
    list_select_related = ("customer", "made_by")
    raw_id_fields = ("customer", "made_by")
    filter_horizontal = ("invoices",)
    inlines = [InstalmentInline]


@admin.register(Instalment)
class InstalmentAdmin(admin.ModelAdmin):
    list_display = ("agreement", "sequence", "due_date", "amount", "state", "settled_on")
    list_filter = ("state", "due_date")
    search_fields = ("agreement__customer__name",)
    list_select_related = ("agreement__customer",)
    raw_id_fields = ("agreement",)
