"""FilterSets over invoices and payments, shared by the browser list pages and the API.

"Overdue" depends on the day: a FilterSet takes `today=` (the views pass the request's date,
tests pass a fixed one) so the same filter answers for any day.
"""

import django_filters
from django.db.models import F, Q
from django.utils import timezone

from customers.choices import Currency
from customers.filters import CustomerScopedFilterSet

from .choices import InvoiceStatus
from .models import Invoice, Payment

# Statuses still being chased: an overdue invoice is one of these with money left after its due date.
CHASED_STATUSES = (InvoiceStatus.OPEN, InvoiceStatus.DISPUTED)


class DatedFilterSet(CustomerScopedFilterSet):
    """A FilterSet of a customer's records that knows which day it is (`today=`), defaulting to the
    local date."""

    def __init__(self, *args, today=None, **kwargs):
        self.today = today
        super().__init__(*args, **kwargs)

    def current_day(self):
        return self.today or timezone.localdate()


class InvoiceFilterSet(DatedFilterSet):
    q = django_filters.CharFilter(
        method="search", label="Search", help_text="Part of the invoice number or the customer's name."
    )
    number = django_filters.CharFilter(help_text="The invoice number, exactly.")
    status = django_filters.MultipleChoiceFilter(
        choices=InvoiceStatus.choices, help_text="One or more statuses (repeat the parameter)."
    )
    currency = django_filters.ChoiceFilter(choices=Currency.choices, help_text="ISO 4217 code.")
    issue_date = django_filters.DateFromToRangeFilter(help_text="Issued between _after and _before.")
    due_date = django_filters.DateFromToRangeFilter(help_text="Due between _after and _before.")
    amount = django_filters.RangeFilter(help_text="Amount between _min and _max.")
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", help_text="true: past due with money still open; false: the others."
    )

    class Meta:
        model = Invoice
        fields = ["number", "customer", "status", "currency"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(number__icontains=value) | Q(customer__name__icontains=value))

    def filter_overdue(self, queryset, name, value):
        overdue = Q(
            status__in=CHASED_STATUSES, due_date__lt=self.current_day(), allocated_amount__lt=F("amount")
        )
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


class PaymentFilterSet(DatedFilterSet):
    reference = django_filters.CharFilter(help_text="The payment reference, exactly.")
    currency = django_filters.ChoiceFilter(choices=Currency.choices, help_text="ISO 4217 code.")
    received_on = django_filters.DateFromToRangeFilter(help_text="Received between _after and _before.")
    amount = django_filters.RangeFilter(help_text="Amount between _min and _max.")
    unallocated = django_filters.BooleanFilter(
        method="filter_unallocated", help_text="true: payments with money not yet allocated to invoices."
    )
    invoice = django_filters.CharFilter(
        field_name="allocations__invoice__number",
        distinct=True,
        help_text="Allocated to this invoice number.",
    )

    class Meta:
        model = Payment
        fields = ["reference", "customer", "currency"]

    def filter_unallocated(self, queryset, name, value):
        condition = Q(allocated_amount__lt=F("amount"))
        return queryset.filter(condition) if value else queryset.exclude(condition)
