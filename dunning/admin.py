from django.contrib import admin

from .models import Policy, Reminder, ReminderInvoice, Step


class StepInline(admin.StackedInline):
    model = Step
    extra = 0


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "segment", "is_default", "business_days_only")
    list_filter = ("is_default", "business_days_only")
    search_fields = ("name", "segment__name")
    inlines = [StepInline]


@admin.register(Step)
class StepAdmin(admin.ModelAdmin):
    list_display = ("policy", "offset_days", "channel", "tone", "action")
    list_filter = ("policy", "channel", "tone", "action")
    search_fields = ("policy__name", "subject_template")


class ReminderInvoiceInline(admin.TabularInline):
    model = ReminderInvoice
    extra = 0
    raw_id_fields = ("invoice",)


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = ("run_on", "customer", "step", "channel", "tone", "status", "attempts", "sent_at")
    list_filter = ("status", "channel", "tone", "run_on")
    search_fields = ("customer__name", "customer__account_number", "subject")
    date_hierarchy = "run_on"
    list_select_related = ("customer", "step__policy")
    raw_id_fields = ("customer", "step")
    inlines = [ReminderInvoiceInline]
