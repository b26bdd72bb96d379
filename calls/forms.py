"""Browser forms: the worklist filters, the one-form call log, contacts and complaint resolution.

Forms only collect and check input; every write goes through the services, whose per-field
ValidationErrors are put back on the form's fields.
"""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from agreements.services import InstalmentTerms
from customers.filters import collectors
from customers.models import Contact, Customer
from invoices.models import Invoice

from .choices import ComplaintCategory, ComplaintOutcome, ExcuseCategory, InteractionChannel, Outcome
from .selectors import Reason, WorklistChoices
from .services import CallLog, ComplaintInput, ExcuseInput

PLAN_ROWS = 6
INVALID_CHOICE = forms.ModelChoiceField.default_error_messages["invalid_choice"]


class WorklistFilterForm(forms.Form):
    """The worklist's filters. The segment and collector options come in `choices` (read in one query
    with the page's other dropdowns, `selectors.worklist_choices`); a chosen one is checked against
    them, so the form itself reads nothing. Their cleaned values are ids."""

    segment = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    collector = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    unassigned = forms.BooleanField(required=False, label="Unassigned only")
    min_amount = forms.DecimalField(
        required=False,
        min_value=0,
        decimal_places=2,
        label="Overdue at least",
        help_text="In the customer's currency.",
    )
    min_days_overdue = forms.IntegerField(required=False, min_value=0, label="Days overdue at least")
    reason = forms.ChoiceField(required=False, choices=[("", "Any reason"), *Reason.CHOICES])
    min_worth_it = forms.IntegerField(required=False, min_value=0, max_value=100, label="Worth-it at least")
    max_worth_it = forms.IntegerField(required=False, min_value=0, max_value=100, label="Worth-it at most")
    sort = forms.ChoiceField(
        required=False,
        choices=[
            ("priority", "Priority"),
            ("amount", "Amount overdue"),
            ("days", "Days late"),
            ("name", "Name"),
            ("worth_it", "Worth-it, best first"),
        ],
    )

    def clean(self):
        data = super().clean()
        low, high = data.get("min_worth_it"), data.get("max_worth_it")
        if low is not None and high is not None and low > high:
            self.add_error("max_worth_it", "Pick a maximum no lower than the minimum.")
        return data

    def __init__(self, *args, choices: WorklistChoices, can_see_all: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        for name, empty_label, found in (
            ("segment", "All segments", choices.segments),
            ("collector", "All collectors", choices.collectors),
        ):
            self.fields[name].choices = [("", empty_label), *((str(c.pk), c.label) for c in found)]
            # A model choice's words: the submitted value is not repeated back.
            self.fields[name].error_messages["invalid_choice"] = INVALID_CHOICE
        if not can_see_all:  # a collector's worklist is their portfolio: no collector filter
            del self.fields["collector"]
            del self.fields["unassigned"]


class AssignForm(forms.Form):
    customers = forms.ModelMultipleChoiceField(
        queryset=Customer.objects.all(), widget=forms.MultipleHiddenInput
    )
    collector = forms.ModelChoiceField(queryset=collectors(), required=False)


class LogCallForm(forms.Form):
    """Everything one call produced. Sections for promise, plan, excuse and complaint are filled
    as the outcome needs; the form turns them into a calls.services.CallLog."""

    contact = forms.ModelChoiceField(
        queryset=Contact.objects.none(), required=False, empty_label="(nobody named)"
    )
    channel = forms.ChoiceField(choices=InteractionChannel.choices, initial=InteractionChannel.PHONE)
    outcome = forms.ChoiceField(choices=[("", "Choose…"), *Outcome.choices])
    minutes_spent = forms.IntegerField(min_value=0, max_value=24 * 60, initial=5, label="Minutes")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    invoices = forms.ModelMultipleChoiceField(
        queryset=Invoice.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The invoices the promise, excuse or complaint is about.",
    )
    agreement_kind = forms.ChoiceField(
        choices=[("", "None"), ("promise", "Promise to pay"), ("plan", "Payment plan")],
        required=False,
        label="Agreement",
        widget=forms.RadioSelect,
    )
    promise_amount = forms.DecimalField(
        required=False, min_value=Decimal("0.01"), decimal_places=2, label="Amount"
    )
    promise_date = forms.DateField(
        required=False, label="Pay by", widget=forms.DateInput(attrs={"type": "date"})
    )
    excuse_category = forms.ChoiceField(
        choices=[("", "No excuse"), *ExcuseCategory.choices], required=False, label="Excuse"
    )
    excuse_words = forms.CharField(required=False, label="In their words")
    complaint_category = forms.ChoiceField(
        choices=[("", "No complaint"), *ComplaintCategory.choices], required=False, label="Complaint"
    )
    complaint_description = forms.CharField(
        required=False, label="What is wrong", widget=forms.Textarea(attrs={"rows": 2})
    )
    next_action_on = forms.DateField(
        required=False, label="Next action on", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, customer: Customer, open_invoices=(), contacts=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.fields["contact"].queryset = customer.contacts.all()
        if contacts is not None:
            # The customer page has read them already: offer those, not a second query of the same
            # rows (a submitted choice is still checked against the queryset).
            contact_field = self.fields["contact"]
            contact_field.choices = [
                ("", contact_field.empty_label),
                *((contact.pk, contact_field.label_from_instance(contact)) for contact in contacts),
            ]
        self.fields["invoices"].queryset = Invoice.objects.filter(pk__in=[i.pk for i in open_invoices])
        self.fields["invoices"].label_from_instance = lambda invoice: (
            f"{invoice.number} · {invoice.amount - invoice.allocated_amount:,.2f} {invoice.currency}"
            f" · due {invoice.due_date:%-d %b}"
        )
        self.fields["invoices"].choices = [
            (invoice.pk, self.fields["invoices"].label_from_instance(invoice)) for invoice in open_invoices
        ]
        for number in range(1, PLAN_ROWS + 1):
            self.fields[f"plan_{number}_date"] = forms.DateField(
                required=False,
                label=f"Instalment {number} date",
                widget=forms.DateInput(attrs={"type": "date"}),
            )
            self.fields[f"plan_{number}_amount"] = forms.DecimalField(
                required=False,
                min_value=Decimal("0.01"),
                decimal_places=2,
                label=f"Instalment {number} amount",
            )

    def invoice_boxes(self) -> str:
        """The invoice checkboxes, as `{% for box in form.invoices %}{{ box.tag }}` renders them,
        built here in one pass: a long-standing customer has up to 200 open invoices, and a widget
        template per box was a quarter of the customer page's rendering."""
        field = self["invoices"]
        chosen = {str(value) for value in field.value() or ()}
        invalid = mark_safe(' aria-invalid="true"') if field.errors else ""
        return format_html_join(
            "",
            '<label class="check"><input type="checkbox" name="{}" value="{}" id="{}_{}"{}{}> {}</label>',
            (
                (field.html_name, value, field.auto_id, index, invalid, checked, label)
                for index, (value, label) in enumerate(self.fields["invoices"].choices)
                for checked in [" checked" if str(value) in chosen else ""]
            ),
        )

    def plan_rows(self):
        return [(self[f"plan_{n}_date"], self[f"plan_{n}_amount"]) for n in range(1, PLAN_ROWS + 1)]

    def clean(self):
        data = super().clean()
        kind = data.get("agreement_kind")
        if data.get("outcome") == Outcome.PROMISE and not kind:
            self.add_error("agreement_kind", "A promise to pay needs its terms: a promise or a payment plan.")
        if kind == "promise":
            if not data.get("promise_amount"):
                self.add_error("promise_amount", "How much did they promise?")
            if not data.get("promise_date"):
                self.add_error("promise_date", "By when?")
        if kind == "plan":
            self.clean_plan(data)
        if data.get("complaint_category") and not data.get("complaint_description"):
            self.add_error("complaint_description", "Say what the customer disputes.")
        if data.get("complaint_category") and not data.get("invoices"):
            self.add_error("invoices", "Choose the invoices the complaint is about.")
        return data

    def clean_plan(self, data):
        filled = 0
        for number in range(1, PLAN_ROWS + 1):
            day, amount = data.get(f"plan_{number}_date"), data.get(f"plan_{number}_amount")
            if bool(day) != bool(amount):
                missing = "amount" if day else "date"
                self.add_error(f"plan_{number}_{missing}", f"Instalment {number} needs a date and an amount.")
            filled += bool(day and amount)
        if filled < 2:
            self.add_error("plan_1_date", "A payment plan has at least two instalments.")

    def call_log(self) -> CallLog:
        data = self.cleaned_data
        kind = data.get("agreement_kind")
        promise = InstalmentTerms(data["promise_date"], data["promise_amount"]) if kind == "promise" else None
        plan = []
        if kind == "plan":
            for number in range(1, PLAN_ROWS + 1):
                day, amount = data.get(f"plan_{number}_date"), data.get(f"plan_{number}_amount")
                if day and amount:
                    plan.append(InstalmentTerms(day, amount))
        excuse = None
        if data.get("excuse_category"):
            excuse = ExcuseInput(data["excuse_category"], data.get("excuse_words", ""))
        complaint = None
        if data.get("complaint_category"):
            complaint = ComplaintInput(data["complaint_category"], data["complaint_description"])
        return CallLog(
            outcome=data["outcome"],
            minutes_spent=data["minutes_spent"],
            notes=data.get("notes", ""),
            channel=data["channel"],
            contact=data.get("contact"),
            next_action_on=data.get("next_action_on"),
            promise=promise,
            plan=plan,
            excuse=excuse,
            complaint=complaint,
            invoices=list(data.get("invoices") or []),
        )

    def add_service_errors(self, error: ValidationError) -> None:
        """Put a service's per-field errors on the matching form fields (the rest on the form)."""
        mapping = {
            "instalments": "agreement_kind",
            "instalments[0].amount": "promise_amount",
            "instalments[0].due_date": "promise_date",
            "plan": "agreement_kind",
            "kind": "agreement_kind",
            "category": "excuse_category",
            "description": "complaint_description",
        }
        for name, messages in getattr(error, "message_dict", {"__all__": error.messages}).items():
            target = mapping.get(name, name)
            if self.cleaned_data.get("agreement_kind") == "plan" and name.startswith("instalments["):
                target = f"plan_{int(name[12:].split(']')[0]) + 1}_{'amount' if 'amount' in name else 'date'}"
            self.add_error(target if target in self.fields else None, messages)


class ContactForm(forms.ModelForm):
    confirmed = forms.BooleanField(required=False, label="Details confirmed with them just now")

    class Meta:
        model = Contact
        fields = ["name", "role", "email", "phone", "is_primary"]


class ResolveComplaintForm(forms.Form):
    outcome = forms.ChoiceField(choices=ComplaintOutcome.choices)
    cancel_invoices = forms.BooleanField(
        required=False,
        label="Cancel the invoices (upheld only)",
        help_text="The customer was right: nothing is owed.",
    )
