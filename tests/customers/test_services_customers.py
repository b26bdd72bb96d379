"""customers.services.decide_credit_control: a credit manager's decisions, all or none."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from customers.services import decide_credit_control
from tests.factories import TODAY, CustomerFactory

pytestmark = pytest.mark.django_db


def test_the_given_decisions_are_set_and_the_others_left_alone(credit_manager, collector):
    customer = CustomerFactory(credit_limit=Decimal("5000.00"), prepayment_only=False)
    until = TODAY + dt.timedelta(days=14)
    decided = decide_credit_control(
        customer=customer,
        actor=credit_manager,
        credit_hold=True,
        collector=collector,
        dunning_paused_until=until,
    )
    assert decided.credit_hold and decided.collector == collector and decided.dunning_paused_until == until
    assert decided.credit_limit == Decimal("5000.00") and not decided.prepayment_only


def test_an_invalid_decision_writes_none_of_them(credit_manager):
    customer = CustomerFactory(credit_hold=False)
    with pytest.raises(ValidationError):
        decide_credit_control(
            customer=customer, actor=credit_manager, credit_limit=Decimal("-1"), credit_hold=True
        )
    customer.refresh_from_db()
    assert customer.credit_hold is False


def test_a_collector_may_not_decide(collector):
    with pytest.raises(PermissionDenied):
        decide_credit_control(customer=CustomerFactory(), actor=collector, credit_hold=True)
