from django.contrib import admin

from customers.admin import ReadOnlyAdminMixin

from .models import (
    Complaint,
    ComplaintAttachment,
    Excuse,
    Interaction,
    PaymentClaim,
    PlanProposal,
    Standing,
    Task,
)


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = (
        "occurred_at",
        "customer",
        "channel",
        "direction",
        "outcome",
        "minutes_spent",
        "user",
        "next_action_on",
    )
    list_filter = ("channel", "direction", "outcome", "occurred_at")
    search_fields = ("customer__name", "customer__account_number", "notes")
    date_hierarchy = "occurred_at"
    list_select_related = ("customer", "user")
    raw_id_fields = ("customer", "contact", "user", "agreement")


@admin.register(Excuse)
class ExcuseAdmin(admin.ModelAdmin):
    list_display = ("given_on", "customer", "category", "words")
    list_filter = ("category", "given_on")
    search_fields = ("customer__name", "customer__account_number", "words")
    list_select_related = ("customer",)
    raw_id_fields = ("customer", "interaction", "invoices")


@admin.register(Complaint)
class ComplaintAdmin(admin.ModelAdmin):
    list_display = ("opened_on", "customer", "category", "resolved_on", "outcome")
    list_filter = ("category", "outcome", "opened_on")
    search_fields = ("customer__name", "customer__account_number", "description")
    list_select_related = ("customer",)
    raw_id_fields = ("customer", "interaction", "invoices", "resolved_by")


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("due_on", "customer", "kind", "reason", "assigned_to", "status")
    list_filter = ("status", "kind", "due_on")
    search_fields = ("customer__name", "customer__account_number", "reason")
    list_select_related = ("customer", "assigned_to")
    raw_id_fields = ("customer", "assigned_to")


@admin.register(Standing)
class StandingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the rows are derived (calls.standing); fix the ledger and they follow."""

    list_display = ("customer", "oldest_open_due_on", "overdue_amount", "overdue_as_of", "last_contact_at")
    search_fields = ("customer__name", "customer__account_number")
    list_select_related = ("customer",)


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What customers send through the portal is written by its services only (portal/, calls.services):
    the admin shows it and may delete it, never edits it around them."""

    deletable = True


@admin.register(ComplaintAttachment)
class ComplaintAttachmentAdmin(ReadOnlyAdmin):
    list_display = ("uploaded_at", "complaint", "original_name", "content_type", "size")
    search_fields = ("original_name", "complaint__customer__name", "complaint__customer__account_number")
    list_select_related = ("complaint",)


@admin.register(PaymentClaim)
class PaymentClaimAdmin(ReadOnlyAdmin):
    list_display = ("created_on", "customer", "paid_on", "amount", "currency", "reference", "pause_until")
    search_fields = ("customer__name", "customer__account_number", "reference")
    list_select_related = ("customer",)


@admin.register(PlanProposal)
class PlanProposalAdmin(ReadOnlyAdmin):
    list_display = ("proposed_on", "customer", "currency", "state", "decided_on")
    list_filter = ("state",)
    search_fields = ("customer__name", "customer__account_number", "decline_reason")
    list_select_related = ("customer",)
