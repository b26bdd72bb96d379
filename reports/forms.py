"""Forms of the reports pages, shared by the browser views and the API (one place for validation)."""

from django import forms
from django.contrib.auth import get_user_model

from customers.access import Role
from customers.choices import Currency
from customers.models import Segment

from .models import SETTING_FIELDS, WorthItSettings


class ReportFilterForm(forms.Form):
    """Which day and which part of the ledger: blank filters mean the whole ledger."""

    as_of = forms.DateField(required=False, label="As of", widget=forms.DateInput(attrs={"type": "date"}))
    currency = forms.ChoiceField(required=False, choices=[("", "All currencies"), *Currency.choices])
    segment = forms.ModelChoiceField(
        required=False, queryset=Segment.objects.all(), empty_label="All segments"
    )
    collector = forms.ModelChoiceField(
        required=False, queryset=get_user_model().objects.none(), empty_label="All collectors"
    )
    period_months = forms.IntegerField(
        required=False, min_value=1, max_value=12, label="DSO period (months)", initial=3
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["collector"].queryset = (
            get_user_model().objects.filter(groups__name=Role.COLLECTOR.label).order_by("username")
        )
        self.fields["collector"].label_from_instance = lambda user: user.get_full_name() or user.username

    def filters(self) -> dict:
        """The filters as selector keywords (valid form only)."""
        data = self.cleaned_data
        return {
            "currency": data.get("currency") or None,
            "segment_id": data["segment"].pk if data.get("segment") else None,
            "collector_id": data["collector"].pk if data.get("collector") else None,
        }


class WorthItSettingsForm(forms.ModelForm):
    class Meta:
        model = WorthItSettings
        fields = SETTING_FIELDS
