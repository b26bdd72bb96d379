from django import forms
from django.contrib import admin
from django.utils import timezone

from .choices import ProposalState
from .models import Policy, Proposal, Reminder, ReminderInvoice, Step
from .services import decide_proposal


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


TEMPLATE_HELP = (
    "Django template, plain text. Variables: customer (name, account_number, email, phone, address_line, "
    "postal_code, city, country), contact (name, email, phone), contact_name, invoices (number, issue_date, "
    "due_date, days_overdue, currency, amount, open_amount), invoice_table, totals (currency, open_amount, "
    "count), totals_text, days_overdue, step (offset_days, channel, tone), today, sender. Tags: if, for, "
    "with, comment. Anything else is refused when saved (see the README, Dunning)."
)


class StepForm(forms.ModelForm):
    class Meta:
        model = Step
        fields = ("policy", "offset_days", "channel", "tone", "action", "subject_template", "body_template")
        help_texts = {"subject_template": TEMPLATE_HELP, "body_template": TEMPLATE_HELP}
        widgets = {"body_template": forms.Textarea(attrs={"rows": 16, "cols": 100})}


StepInline.form = StepForm
StepAdmin.form = StepForm


@admin.action(description="Confirm the selected proposals")
def confirm_proposals(modeladmin, request, queryset):
    decide_all(modeladmin, request, queryset, confirm=True)


@admin.action(description="Dismiss the selected proposals")
def dismiss_proposals(modeladmin, request, queryset):
    decide_all(modeladmin, request, queryset, confirm=False)


def decide_all(modeladmin, request, queryset, *, confirm: bool) -> None:
    decided = 0
    for proposal in queryset.filter(state=ProposalState.PROPOSED):
        decide_proposal(proposal=proposal, confirm=confirm, user=request.user, today=timezone.localdate())
        decided += 1
    modeladmin.message_user(request, f"{decided} proposal(s) {'confirmed' if confirm else 'dismissed'}.")


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ("proposed_on", "customer", "kind", "state", "reason", "decided_by", "decided_on")
    list_filter = ("state", "kind")
    search_fields = ("customer__name", "customer__account_number")
    list_select_related = ("customer", "decided_by")
    raw_id_fields = ("customer",)
    readonly_fields = ("decided_by", "decided_on")
    actions = [confirm_proposals, dismiss_proposals]
