"""agreements.services: an agreement is made whole or not at all, and cancelling one is a decision."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from agreements.models import Agreement
from agreements.services import InstalmentTerms, cancel_agreement, create_agreement
from tests.factories import TODAY, CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


def daysafter(days: int) -> dt.date:
    return TODAY + dt.timedelta(days=days)


def test_a_plan_covers_the_customer_s_invoices_and_totals_its_instalments(collector):
    customer = CustomerFactory(collector=collector)
    invoice = InvoiceFactory(customer=customer)
    agreement = create_agreement(
        customer=customer,
        kind="plan",
        instalments=[
            InstalmentTerms(daysafter(7), Decimal("400.00")),
            InstalmentTerms(daysafter(37), Decimal("600.00")),
        ],
        invoices=[invoice],
        made_on=TODAY,
        made_by=collector,
    )
    assert agreement.state == "active" and agreement.total_amount == Decimal("1000.00")
    assert [i.amount for i in agreement.instalments.order_by("sequence")] == [
        Decimal("400.00"),
        Decimal("600.00"),
    ]
    assert list(agreement.invoices.all()) == [invoice]


def test_bad_terms_are_refused_per_field_and_nothing_is_written(collector):
    customer = CustomerFactory(collector=collector)
    other = InvoiceFactory()  # another customer's
    with pytest.raises(ValidationError) as refused:
        create_agreement(
            customer=customer,
            kind="promise",
            instalments=[InstalmentTerms(daysafter(-1), Decimal("-5"))],
            invoices=[other],
            made_on=TODAY,
            made_by=collector,
        )
    assert set(refused.value.message_dict) == {
        "instalments[0].amount",
        "instalments[0].due_date",
        "invoices",
    }
    assert not Agreement.objects.exists()


def test_cancelling_closes_an_active_agreement(collector):
    customer = CustomerFactory(collector=collector)
    agreement = create_agreement(
        customer=customer,
        kind="promise",
        instalments=[InstalmentTerms(daysafter(7), Decimal("100.00"))],
        made_on=TODAY,
        made_by=collector,
    )
    cancelled = cancel_agreement(agreement=agreement, today=TODAY, actor=collector)
    assert cancelled.state == "cancelled" and cancelled.closed_on == TODAY
