"""Schemathesis fuzzes the /api/v1/reports/ operations: never a server error, never outside the schema."""

import datetime as dt
from decimal import Decimal

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from creditdesk.wsgi import application
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
    UserFactory,
)

CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance)


@pytest.fixture
def reports_schema(db, settings):
    # Requests run in the test's transaction: they must not close its connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
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
    yield schemathesis.from_wsgi("/api/v1/schema/?format=json", application)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def finance_headers(db):
    token, _ = Token.objects.get_or_create(user=UserFactory(username="fuzzing-finance", role="finance_lead"))
    return {"Authorization": f"Token {token.key}"}


schema = schemathesis.from_pytest_fixture("reports_schema").include(path_regex="^/api/v1/reports/")


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_reports_operations_answer_within_their_schema(case, finance_headers):
    response = case.call_wsgi(headers=finance_headers)
    case.validate_response(response, checks=CHECKS)
