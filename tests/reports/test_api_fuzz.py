"""Schemathesis fuzzes the /api/v1/reports/ operations: never a server error, never outside the schema."""

import datetime as dt
from decimal import Decimal

import pytest
import schemathesis

from invoices.services import allocate
from tests.factories import (
    TODAY,
    ComplaintFactory,
    CustomerFactory,
    ExcuseFactory,
    InteractionFactory,
    InvoiceFactory,
    PaymentFactory,
    ReminderFactory,
)
from tests.schemathesis_support import FUZZ_SETTINGS, keep_test_connection, load_schema

__all__ = ["keep_test_connection"]  # a fixture the test below uses


@pytest.fixture
def reports_schema(db, settings, keep_test_connection):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    customer = CustomerFactory()
    invoice = InvoiceFactory(customer=customer, due_date=TODAY - dt.timedelta(days=40))
    payment = PaymentFactory(
        customer=customer, amount=Decimal("400.00"), received_on=TODAY - dt.timedelta(days=5)
    )
    allocate(payment=payment, invoice=invoice, amount=Decimal("400.00"))
    InteractionFactory(customer=customer)
    ExcuseFactory(customer=customer)
    ReminderFactory(customer=customer, run_on=TODAY - dt.timedelta(days=20))
    ComplaintFactory(
        customer=customer, opened_on=TODAY - dt.timedelta(days=15), resolved_on=TODAY, outcome="rejected"
    )
    return load_schema(role="finance_lead").include(path_regex="^/api/v1/reports/")


schema = schemathesis.pytest.from_fixture("reports_schema")


@schema.parametrize()
@FUZZ_SETTINGS
def test_reports_operations_answer_within_their_schema(case):
    case.call_and_validate()
