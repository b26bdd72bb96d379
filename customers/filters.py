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


def collectors():
    """Users who hold the collector role: the choices of every "collector" filter."""
    return get_user_model().objects.filter(groups__name=Role.COLLECTOR.label).order_by("username")


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", label="Search", help_text="Part of the name or account number."
    )
    account_number = django_filters.CharFilter(help_text="The ERP's account number, exactly.")
    segment = django_filters.ModelChoiceFilter(queryset=Segment.objects.all(), help_text="Segment id.")
    collector = django_filters.ModelChoiceFilter(
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


class ContactFilter(django_filters.FilterSet):
    customer = django_filters.NumberFilter(field_name="customer_id", help_text="Customer id.")
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


class SegmentFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Segment
        fields = ["name"]
