"""FilterSets over interactions, excuses, complaints and tasks, shared by the browser pages and the API."""

import datetime as dt

import django_filters
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django_filters.fields import DateRangeWidget, IsoDateTimeField, RangeField

from customers.filters import CustomerScopedFilterSet, ModelChoiceFilter

from .choices import (
    ComplaintCategory,
    ComplaintOutcome,
    Direction,
    ExcuseCategory,
    InteractionChannel,
    Outcome,
    TaskKind,
    TaskStatus,
)
from .models import Complaint, Excuse, Interaction, Task


class _InstantField(IsoDateTimeField):
    """An ISO 8601 date-time turned into UTC: ISO 8601 and Python allow offsets up to 23:59, PostgreSQL
    only to 15:59, so `...-18:17` must not reach the database as it was written."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(dt.UTC)
        except OverflowError:  # before year 1 or past year 9999 once in UTC
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class _InstantRangeField(RangeField):
    widget = DateRangeWidget

    def __init__(self, *args, **kwargs):
        super().__init__((_InstantField(), _InstantField()), *args, **kwargs)


class InstantFromToRangeFilter(django_filters.IsoDateTimeFromToRangeFilter):
    """Between `_after` and `_before`, given in ISO 8601 with any offset."""

    field_class = _InstantRangeField


class InteractionFilterSet(CustomerScopedFilterSet):
    user = ModelChoiceFilter(queryset=get_user_model().objects.all(), help_text="User id of who logged it.")
    channel = django_filters.MultipleChoiceFilter(choices=InteractionChannel.choices)
    direction = django_filters.ChoiceFilter(choices=Direction.choices)
    outcome = django_filters.MultipleChoiceFilter(choices=Outcome.choices)
    occurred_at = InstantFromToRangeFilter(help_text="Occurred between _after and _before (ISO 8601).")
    next_action_on = django_filters.DateFromToRangeFilter(help_text="Next action between _after and _before.")

    class Meta:
        model = Interaction
        fields = ["customer", "user", "channel", "outcome"]


class ExcuseFilterSet(CustomerScopedFilterSet):
    category = django_filters.MultipleChoiceFilter(choices=ExcuseCategory.choices)
    given_on = django_filters.DateFromToRangeFilter(help_text="Given between _after and _before.")
    invoice = django_filters.CharFilter(
        field_name="invoices__number", distinct=True, help_text="About this invoice number."
    )

    class Meta:
        model = Excuse
        fields = ["customer", "category"]


class ComplaintFilterSet(CustomerScopedFilterSet):
    category = django_filters.MultipleChoiceFilter(choices=ComplaintCategory.choices)
    is_open = django_filters.BooleanFilter(
        field_name="resolved_on", lookup_expr="isnull", help_text="true: not yet resolved."
    )
    outcome = django_filters.ChoiceFilter(choices=ComplaintOutcome.choices)
    opened_on = django_filters.DateFromToRangeFilter(help_text="Opened between _after and _before.")
    resolved_on = django_filters.DateFromToRangeFilter(help_text="Resolved between _after and _before.")
    invoice = django_filters.CharFilter(
        field_name="invoices__number", distinct=True, help_text="About this invoice number."
    )

    class Meta:
        model = Complaint
        fields = ["customer", "category", "outcome"]


class TaskFilterSet(CustomerScopedFilterSet):
    assigned_to = ModelChoiceFilter(
        queryset=get_user_model().objects.all(), help_text="User id of who the task is for."
    )
    kind = django_filters.MultipleChoiceFilter(choices=TaskKind.choices)
    status = django_filters.MultipleChoiceFilter(choices=TaskStatus.choices)
    due_on = django_filters.DateFromToRangeFilter(help_text="Due between _after and _before.")

    class Meta:
        model = Task
        fields = ["customer", "assigned_to", "kind", "status"]
