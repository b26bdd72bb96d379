"""Schemathesis fuzzes every operation of the live OpenAPI schema: no 5xx, no answer outside the schema.

It runs through the WSGI app (no server), authenticated as a credit manager by token, in the test's
database with a little data so that lookups by id and number sometimes hit. Two tests:

- every operation on its own (examples, coverage and fuzzing phases, `schema.parametrize()`);
- the stateful phase: chains of calls that follow the links between operations (a customer created
  by POST is then read, changed, given a contact and a call...), through `schema.as_state_machine()`.

Both stay within a small budget (max_examples, steps) so that `make test` runs them every time.
"""

from decimal import Decimal

import pytest
import schemathesis
from hypothesis import settings

from customers.models import Customer
from tests.factories import (
    AgreementFactory,
    ComplaintFactory,
    ContactFactory,
    CustomerFactory,
    InteractionFactory,
    InvoiceFactory,
    PaymentFactory,
    ReminderFactory,
    TaskFactory,
)
from tests.schemathesis_support import (
    FUZZ_SETTINGS,
    STATEFUL_SETTINGS,
    keep_test_connection,
    load_schema,
    scenario_state_machine,
)

__all__ = ["keep_test_connection"]  # a fixture the tests below use


@pytest.fixture
def api_schema(db, settings, keep_test_connection):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    customer = CustomerFactory(account_number="ACC-1")
    for n in range(3):
        InvoiceFactory(customer=customer, number=f"F-{n}")
    PaymentFactory(customer=customer, amount=Decimal("10.00"))
    ContactFactory(customer=customer)
    AgreementFactory(customer=customer)
    InteractionFactory(customer=customer)
    ComplaintFactory(customer=customer)
    TaskFactory(customer=customer)
    ReminderFactory(customer=customer)
    # The reports endpoints have their own fuzz test (tests/reports/test_api_fuzz.py), with their own data.
    return load_schema(role="credit_manager").exclude(path_regex="^/api/v1/reports/")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_answers_within_its_schema_and_never_with_a_server_error(case):
    case.call_and_validate()


def test_chains_of_linked_operations_answer_within_the_schema(api_schema):
    """The stateful phase: follow the links (ids and numbers one answer gives, the next call uses)."""
    scenario_state_machine(api_schema).run(settings=settings(STATEFUL_SETTINGS))


def test_chains_start_each_scenario_from_the_same_ledger(api_schema):
    """What one scenario wrote is gone before the next starts."""
    machine = scenario_state_machine(api_schema)
    first, second = machine(), machine()
    first.setup()
    CustomerFactory(account_number="WRITTEN-BY-A-SCENARIO")
    first.teardown()
    second.setup()
    assert not Customer.objects.filter(account_number="WRITTEN-BY-A-SCENARIO").exists()
    second.teardown()
