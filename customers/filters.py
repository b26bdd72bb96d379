"""FilterSets over customers, contacts and segments, shared by the browser list pages and the API.

Filters take ids and account numbers rather than drop-downs of every customer: a ledger with a
hundred thousand accounts must not render (or query) them all to draw a filter form.
"""

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q

from .access import Role
from .choices import Channel, Currency
from .models import Contact, Customer, Segment

# Ids a database column can hold: a filter given a bigger number answers "no match", not an error page.
LARGEST_ID = 2**63 - 1


class IdFilter(django_filters.NumberFilter):
    """A filter on a record's id: a whole positive number (a 400 otherwise)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", LARGEST_ID)
        kwargs.setdefault("decimal_places", 0)
        super().__init__(*args, **kwargs)


class BoundedModelChoiceField(django_filters.fields.ModelChoiceField):
    def to_python(self, value):
        if value not in self.empty_values and str(value).isdigit() and int(value) > LARGEST_ID:
            raise django_filters.fields.forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return super().to_python(value)


class ModelChoiceFilter(django_filters.ModelChoiceFilter):
    """A choice of record by id, refusing ids no column can hold (some databases would fail on them)."""

    field_class = BoundedModelChoiceField


def collectors():
    """Users who hold the collector role: the choices of every "collector" filter."""
    return get_user_model().objects.filter(groups__name=Role.COLLECTOR.label).order_by("username")


class CustomerFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", label="Search", help_text="Part of the name or account number."
    )
    account_number = django_filters.CharFilter(help_text="The ERP's account number, exactly.")
    segment = ModelChoiceFilter(queryset=Segment.objects.all(), help_text="Segment id.")
    collector = ModelChoiceFilter(
        queryset=collectors(), help_text="User id of the collector whose portfolio holds the customer."
    )
    unassigned = django_filters.BooleanFilter(
        field_name="collector", lookup_expr="isnull", help_text="true: customers with no collector."
    )
    currency = django_filters.ChoiceFilter(choices=Currency.choices, help_text="ISO 4217 code.")
    preferred_channel = django_filters.ChoiceFilter(choices=Channel.choices)
    credit_hold = django_filters.BooleanFilter(help_text="On credit hold or not.")
    prepayment_only = django_filters.BooleanFilter(help_text="Prepayment only or not.")
    credit_limit = django_filters.RangeFilter(help_text="Credit limit between _min and _max.")

    class Meta:
        model = Customer
        fields = ["q", "account_number", "segment", "collector", "currency", "credit_hold", "prepayment_only"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(account_number__icontains=value))


class ContactFilterSet(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id", help_text="Customer id.")
    account_number = django_filters.CharFilter(
        field_name="customer__account_number", help_text="The customer's account number."
    )
    is_primary = django_filters.BooleanFilter()
    verified = django_filters.BooleanFilter(
        field_name="verified_at", lookup_expr="isnull", exclude=True, help_text="true: details confirmed."
    )

    class Meta:
        model = Contact
        fields = ["customer", "account_number", "is_primary"]


class SegmentFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Segment
        fields = ["name"]


class CustomerScopedFilterSet(django_filters.FilterSet):
    """The customer, account number, segment and collector filters every list of a customer's
    records shares (invoices, payments, agreements, calls, complaints, reminders...)."""

    customer = IdFilter(field_name="customer_id", help_text="Customer id.")
    account_number = django_filters.CharFilter(
        field_name="customer__account_number", help_text="The customer's account number, exactly."
    )
    segment = ModelChoiceFilter(
        field_name="customer__segment", queryset=Segment.objects.all(), help_text="Segment id."
    )
    collector = ModelChoiceFilter(
        field_name="customer__collector", queryset=collectors(), help_text="User id of the collector."
    )
