"""invoices.selectors.invoices_numbered: numbers looked up inside one customer only."""

import pytest
from django.core.exceptions import ValidationError

from invoices.selectors import invoices_numbered
from tests.factories import CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


def test_invoices_come_back_in_the_order_named_each_once():
    customer = CustomerFactory()
    first, second = (
        InvoiceFactory(customer=customer, number="F-1"),
        InvoiceFactory(customer=customer, number="F-2"),
    )
    assert invoices_numbered(customer=customer, numbers=["F-2", "F-1", "F-2"]) == [second, first]


def test_another_customer_s_number_is_answered_like_an_unknown_one():
    customer = CustomerFactory(account_number="ACC-1")
    InvoiceFactory(number="F-OTHER")
    with pytest.raises(ValidationError) as refused:
        invoices_numbered(customer=customer, numbers=["F-OTHER", "NOPE"])
    assert refused.value.message_dict == {"invoices": ["ACC-1 has no invoice numbered F-OTHER, NOPE."]}
