"""Forms of the banking pages: shape only; the services decide."""

from django import forms

from .services import Part


class StatementUploadForm(forms.Form):
    file = forms.FileField(label="Statement file", help_text="camt.053 (001.02 or 001.08) XML, or MT940.")


class ManualMatchForm(forms.Form):
    """Up to three customers for one bank line; each row: account number, amount, invoice numbers."""

    ROWS = 3

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for row in range(self.ROWS):
            self.fields[f"account_{row}"] = forms.CharField(
                label="Customer account", required=False, max_length=40
            )
            self.fields[f"amount_{row}"] = forms.DecimalField(
                label="Amount", required=False, max_digits=14, decimal_places=2, min_value=0.01
            )
            self.fields[f"invoices_{row}"] = forms.CharField(
                label="Invoice numbers",
                required=False,
                max_length=500,
                help_text="Separated by commas or spaces.",
            )

    def clean(self):
        data = super().clean()
        if not any(data.get(f"account_{row}") for row in range(self.ROWS)):
            raise forms.ValidationError("Name at least one customer by account number.")
        return data

    def parts(self) -> list[Part]:
        parts = []
        for row in range(self.ROWS):
            account = (self.cleaned_data.get(f"account_{row}") or "").strip()
            if account:
                numbers = self.cleaned_data.get(f"invoices_{row}", "").replace(",", " ").split()
                parts.append(Part(account, self.cleaned_data.get(f"amount_{row}"), tuple(numbers)))
        return parts
