from django.contrib import admin

from .models import Contact, Customer, Segment


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "lateness_threshold_days", "description")
    search_fields = ("name",)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = (
        "account_number", "name", "segment", "currency", "credit_limit", "collector",
        "preferred_channel", "credit_hold", "prepayment_only", "dunning_paused_until",
    )  # fmt: skip
    list_filter = ("segment", "currency", "preferred_channel", "credit_hold", "prepayment_only", "collector")
    search_fields = ("account_number", "name", "email")
    list_select_related = ("segment", "collector")
    autocomplete_fields = ("segment",)
    raw_id_fields = ("collector",)
    inlines = [ContactInline]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("name", "customer", "role", "email", "phone", "is_primary", "verified_at")
    list_filter = ("is_primary",)
    search_fields = ("name", "email", "customer__name", "customer__account_number")
    list_select_related = ("customer",)
    raw_id_fields = ("customer",)
