"""FilterSets over reminders and dunning policies, shared by the browser pages and the API."""

import django_filters

from customers.filters import CustomerScopedFilterSet, ModelChoiceFilter
from customers.models import Segment

from .choices import DeliveryStatus, StepChannel, Tone
from .models import Policy, Reminder


class ReminderFilterSet(CustomerScopedFilterSet):
    policy = ModelChoiceFilter(
        field_name="step__policy", queryset=Policy.objects.all(), help_text="Dunning policy id."
    )
    channel = django_filters.MultipleChoiceFilter(choices=StepChannel.choices)
    tone = django_filters.MultipleChoiceFilter(choices=Tone.choices)
    status = django_filters.MultipleChoiceFilter(choices=DeliveryStatus.choices)
    run_on = django_filters.DateFromToRangeFilter(
        help_text="Created by the run of a day between _after and _before."
    )
    invoice = django_filters.CharFilter(
        field_name="invoices__number", distinct=True, help_text="Lists this invoice number."
    )

    class Meta:
        model = Reminder
        fields = ["customer", "policy", "channel", "status"]


class PolicyFilterSet(django_filters.FilterSet):
    segment = ModelChoiceFilter(queryset=Segment.objects.all(), help_text="Segment id.")
    is_default = django_filters.BooleanFilter()

    class Meta:
        model = Policy
        fields = ["segment", "is_default"]
