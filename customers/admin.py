from django.contrib import admin

from .models import Contact, ContactChange, Customer, PortalLink, PortalSubmission, Segment
from .signals import announce_change


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

    def save_model(self, request, obj, form, change):
        """An edit here changes what the services would announce (collector, currency, pause): say so,
        so the kept per-customer figures (calls.standing, reports) follow it in the same transaction."""
        super().save_model(request, obj, form, change)
        announce_change(customer_ids={obj.pk}, facts={"customer"})


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("name", "customer", "role", "email", "phone", "is_primary", "verified_at")
    list_filter = ("is_primary",)
    search_fields = ("name", "email", "customer__name", "customer__account_number")
    list_select_related = ("customer",)
    raw_id_fields = ("customer",)


@admin.register(PortalLink)
class PortalLinkAdmin(admin.ModelAdmin):
    """Links are minted by the dunning delivery and revoked on the customer page; here they are only read
    (the token itself is never stored, so nothing here can open a customer's page)."""

    list_display = ("created_at", "customer", "contact", "expires_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("customer__name", "customer__account_number")
    list_select_related = ("customer", "contact")
    readonly_fields = ("customer", "contact", "token_hash", "expires_at", "revoked_at", "created_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ContactChange)
class ContactChangeAdmin(admin.ModelAdmin):
    list_display = ("submitted_on", "customer", "name", "email", "phone", "state")
    list_filter = ("state",)
    search_fields = ("customer__name", "customer__account_number", "name", "email")
    list_select_related = ("customer",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # confirmed or rejected on the customer page, through the service


@admin.register(PortalSubmission)
class PortalSubmissionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "link", "key")
    search_fields = ("key",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
