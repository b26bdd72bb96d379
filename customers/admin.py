from django.contrib import admin

from .models import Contact, ContactChange, Customer, PortalLink, PortalSubmission, Segment
from .signals import announce_change


class ReadOnlyAdminMixin:
    """For a ModelAdmin or an inline of rows written by services only, or derived from the ledger:
    the admin shows them and never adds or changes one around the services (that would move money
    past their rules, or be drift the checks report). Deleting stays off unless `deletable` says a
    row may be forgotten here (a wrongly learned IBAN, a portal submission); even then the user's
    own delete permission still applies. Shared by every app's admin, so it lives in the base app."""

    deletable = False

    def has_add_permission(self, request, obj=None) -> bool:  # obj: inlines are asked with their parent
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.deletable and super().has_delete_permission(request, obj)  # type: ignore[misc]


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
class ContactChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Confirmed or rejected on the customer page, through the service; may be deleted here."""

    list_display = ("submitted_on", "customer", "name", "email", "phone", "state")
    list_filter = ("state",)
    search_fields = ("customer__name", "customer__account_number", "name", "email")
    list_select_related = ("customer",)
    deletable = True


@admin.register(PortalSubmission)
class PortalSubmissionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "link", "key")
    search_fields = ("key",)
    deletable = True
