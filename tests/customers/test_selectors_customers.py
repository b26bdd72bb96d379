"""customers.selectors: the portfolio's customers, and contacts looked up inside one customer."""

import pytest
from django.core.exceptions import ValidationError

from customers.selectors import contact_of, visible_customers
from tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def test_a_collector_sees_their_portfolio_and_a_manager_everyone(collector, credit_manager):
    mine, theirs = CustomerFactory(collector=collector), CustomerFactory()
    assert list(visible_customers(user=collector)) == [mine]
    assert set(visible_customers(user=credit_manager)) == {mine, theirs}


def test_another_customer_s_contact_is_no_such_contact():
    customer = CustomerFactory(account_number="ACC-9")
    own = ContactFactory(customer=customer)
    foreign = ContactFactory()
    assert contact_of(customer=customer, contact_id=own.pk) == own
    with pytest.raises(ValidationError) as refused:
        contact_of(customer=customer, contact_id=foreign.pk)
    assert refused.value.message_dict == {"contact": [f"ACC-9 has no contact with id {foreign.pk}."]}
