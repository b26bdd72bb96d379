"""The shared FilterSets answer what a list page or an API client asks for."""

import datetime as dt
from decimal import Decimal

import pytest

from agreements.filters import AgreementFilterSet
from calls.filters import ComplaintFilterSet, TaskFilterSet
from customers.filters import CustomerFilterSet
from invoices.filters import InvoiceFilterSet, PaymentFilterSet
from invoices.models import Invoice, Payment
from tests.factories import (
    TODAY,
    AgreementFactory,
    ComplaintFactory,
    CustomerFactory,
    InvoiceFactory,
    PaymentFactory,
    SegmentFactory,
    TaskFactory,
)

pytestmark = pytest.mark.django_db


def numbers(filterset):
    assert filterset.is_valid(), filterset.errors
    return sorted(invoice.number for invoice in filterset.qs)


def test_overdue_invoices_are_past_due_with_money_open_on_the_given_day():
    customer = CustomerFactory()
    InvoiceFactory(number="LATE", customer=customer, due_date=TODAY - dt.timedelta(days=1))
    InvoiceFactory(number="DUE-TODAY", customer=customer, due_date=TODAY)
    InvoiceFactory(
        number="PAID",
        customer=customer,
        due_date=TODAY - dt.timedelta(days=9),
        status="paid",
        allocated_amount=Decimal("1000.00"),
    )
    queryset = Invoice.objects.all()
    assert numbers(InvoiceFilterSet({"overdue": "true"}, queryset, today=TODAY)) == ["LATE"]
    assert numbers(InvoiceFilterSet({"overdue": "false"}, queryset, today=TODAY)) == ["DUE-TODAY", "PAID"]
    tomorrow = TODAY + dt.timedelta(days=1)
    assert numbers(InvoiceFilterSet({"overdue": "true"}, queryset, today=tomorrow)) == ["DUE-TODAY", "LATE"]


def test_invoice_filters_by_segment_collector_status_currency_dates_and_amounts(collector):
    key_accounts = SegmentFactory(name="Key accounts")
    mine = CustomerFactory(segment=key_accounts, collector=collector, name="Zephyr Logistics BV")
    other = CustomerFactory(currency="USD", name="Aurora Freight NV")
    InvoiceFactory(number="A", customer=mine, amount=Decimal("50.00"), due_date=TODAY)
    InvoiceFactory(
        number="B", customer=mine, amount=Decimal("5000.00"), due_date=TODAY + dt.timedelta(days=40)
    )
    InvoiceFactory(number="C", customer=other, amount=Decimal("700.00"), status="disputed")
    queryset = Invoice.objects.all()
    assert numbers(InvoiceFilterSet({"segment": key_accounts.pk}, queryset)) == ["A", "B"]
    assert numbers(InvoiceFilterSet({"collector": collector.pk}, queryset)) == ["A", "B"]
    assert numbers(InvoiceFilterSet({"status": ["disputed"]}, queryset)) == ["C"]
    assert numbers(InvoiceFilterSet({"currency": "USD"}, queryset)) == ["C"]
    assert numbers(InvoiceFilterSet({"amount_min": "100", "amount_max": "1000"}, queryset)) == ["C"]
    assert numbers(
        InvoiceFilterSet({"due_date_after": (TODAY + dt.timedelta(days=1)).isoformat()}, queryset)
    ) == ["B"]
    assert numbers(InvoiceFilterSet({"account_number": other.account_number}, queryset)) == ["C"]
    assert numbers(InvoiceFilterSet({"q": "auror"}, queryset)) == ["C"]


def test_a_malformed_filter_value_is_reported_per_field():
    filterset = InvoiceFilterSet(
        {"due_date_after": "31/02/2026", "amount_min": "lots"}, Invoice.objects.all()
    )
    assert not filterset.is_valid()
    assert set(filterset.errors) == {"due_date", "amount"}


def test_payment_filter_finds_unallocated_money_and_date_ranges():
    PaymentFactory(reference="OLD", received_on=TODAY - dt.timedelta(days=60))
    PaymentFactory(reference="NEW", received_on=TODAY, allocated_amount=Decimal("1000.00"))
    queryset = Payment.objects.all()
    unallocated = PaymentFilterSet({"unallocated": "true"}, queryset)
    assert [p.reference for p in unallocated.qs] == ["OLD"]
    recent = PaymentFilterSet({"received_on_after": (TODAY - dt.timedelta(days=7)).isoformat()}, queryset)
    assert [p.reference for p in recent.qs] == ["NEW"]


def test_customer_agreement_complaint_and_task_filters(collector):
    held = CustomerFactory(credit_hold=True, collector=collector)
    CustomerFactory()
    assert list(CustomerFilterSet({"credit_hold": "true"}).qs) == [held]
    assert list(CustomerFilterSet({"collector": collector.pk}).qs) == [held]
    AgreementFactory(customer=held, state="broken", closed_on=TODAY)
    AgreementFactory()
    assert AgreementFilterSet({"state": ["broken"]}).qs.get().customer == held
    ComplaintFactory(customer=held)
    ComplaintFactory(resolved_on=TODAY, outcome="rejected")
    assert ComplaintFilterSet({"is_open": "true"}).qs.get().customer == held
    TaskFactory(customer=held, due_on=TODAY + dt.timedelta(days=3))
    TaskFactory(due_on=TODAY)
    later = TaskFilterSet({"due_on_after": (TODAY + dt.timedelta(days=1)).isoformat()}).qs
    assert later.get().customer == held
