"""The portal's five forms: shape only. The services (portal.services, and through them calls and
customers) decide the rules and put per-field errors back on these fields.

Invoices are offered from the link's customer only (`invoices=`), so a posted id of another
customer's invoice is an invalid choice, not a lookup.
"""

import uuid

import filetype
from django import forms
from django.conf import settings

from calls.choices import ComplaintCategory
from calls.services import MAX_PLAN_INSTALMENTS

# What a dispute may carry, by the type read from the file's first bytes (the name and the browser's
# label are not trusted).
ATTACHMENT_TYPES = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


class InvoiceChoiceField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, invoice):
        return f"{invoice.number} · due {invoice.due_date:%d %b %Y}"


class PortalForm(forms.Form):
    # A random key per rendered form: the same form sent twice is recorded once (first_submission).
    submission = forms.CharField(widget=forms.HiddenInput, max_length=64, initial=lambda: uuid.uuid4().hex)

    def __init__(self, *args, invoices=None, **kwargs):
        super().__init__(*args, **kwargs)
        if "invoices" in self.fields:
            self.fields["invoices"].queryset = invoices


class DisputeForm(PortalForm):
    invoices = InvoiceChoiceField(queryset=None, label="Invoices you dispute")
    category = forms.ChoiceField(choices=ComplaintCategory.choices, label="What is wrong")
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), max_length=4000, label="In your words"
    )
    attachment = forms.FileField(required=False, label="A document (PDF, PNG or JPEG, at most 5 MB)")

    def clean_attachment(self):
        upload = self.cleaned_data.get("attachment")
        if not upload:
            return None
        if upload.size > settings.PORTAL_ATTACHMENT_MAX_BYTES:
            raise forms.ValidationError(f"The file is {upload.size / 1048576:.1f} MB; at most 5 MB, please.")
        head = upload.read(8192)
        upload.seek(0)
        kind = filetype.guess(head)
        if kind is None or kind.mime not in ATTACHMENT_TYPES:
            raise forms.ValidationError(
                "Only PDF, PNG or JPEG files: this file is none of them, whatever its name."
            )
        upload.detected_type = kind.mime
        return upload


class PromiseForm(PortalForm):
    invoices = InvoiceChoiceField(queryset=None, label="Invoices you will pay")
    pay_on = forms.DateField(label="We will pay on", widget=forms.DateInput(attrs={"type": "date"}))


class PlanForm(PortalForm):
    invoices = InvoiceChoiceField(queryset=None, label="Invoices the plan covers")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for number in range(1, MAX_PLAN_INSTALMENTS + 1):
            required = number <= 2
            self.fields[f"date_{number}"] = forms.DateField(
                required=required,
                label=f"Instalment {number}: date",
                widget=forms.DateInput(attrs={"type": "date"}),
            )
            self.fields[f"amount_{number}"] = forms.DecimalField(
                required=required,
                min_value=0,
                max_digits=14,
                decimal_places=2,
                label=f"Instalment {number}: amount",
            )

    def clean(self):
        data = super().clean()
        for number in range(1, MAX_PLAN_INSTALMENTS + 1):
            if bool(data.get(f"date_{number}")) != bool(data.get(f"amount_{number}")):
                self.add_error(f"amount_{number}", "Give both a date and an amount, or neither.")
        return data

    def instalment_rows(self):
        return [
            (self[f"date_{number}"], self[f"amount_{number}"])
            for number in range(1, MAX_PLAN_INSTALMENTS + 1)
        ]


class PaidForm(PortalForm):
    invoices = InvoiceChoiceField(queryset=None, label="Invoices you paid")
    paid_on = forms.DateField(label="Paid on", widget=forms.DateInput(attrs={"type": "date"}))
    amount = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2)
    reference = forms.CharField(max_length=100, label="Payment reference")


class ContactForm(PortalForm):
    name = forms.CharField(max_length=200)
    role = forms.CharField(max_length=100, required=False, initial="Accounts payable")
    email = forms.EmailField(required=False)
    phone = forms.CharField(max_length=40, required=False)


FORMS = {
    "dispute": DisputeForm,
    "promise": PromiseForm,
    "plan": PlanForm,
    "paid": PaidForm,
    "contact": ContactForm,
}
