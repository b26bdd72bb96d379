"""FilterSets over agreements (promises and plans), shared by the browser list pages and the API."""

import django_filters

from customers.choices import Currency
from customers.filters import CustomerScopedFilterSet

from .choices import AgreementKind, AgreementState
from .models import Agreement


class AgreementFilterSet(CustomerScopedFilterSet):
    kind = django_filters.ChoiceFilter(choices=AgreementKind.choices)
    state = django_filters.MultipleChoiceFilter(
        choices=AgreementState.choices, help_text="One or more states (repeat the parameter)."
    )
    currency = django_filters.ChoiceFilter(choices=Currency.choices, help_text="ISO 4217 code.")
    made_on = django_filters.DateFromToRangeFilter(help_text="Made between _after and _before.")
    total_amount = django_filters.RangeFilter(help_text="Total between _min and _max.")
    invoice = django_filters.CharFilter(
        field_name="invoices__number", distinct=True, help_text="Covers this invoice number."
    )

    class Meta:
        model = Agreement
        fields = ["customer", "kind", "state", "currency"]
