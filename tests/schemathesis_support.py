"""What the schemathesis tests share: how the schema is loaded, the checks, the budget, the connection."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from creditdesk.wsgi import application
from tests.factories import UserFactory

# Every answer is checked against the published schema (status, content type, headers, body) and must
# never be a 5xx; the stateful phase also checks that what was created can be read back, that a call
# without (or with a wrong) token is refused, and that a removed resource is gone.
# Left out: `positive_data_acceptance` and `negative_data_rejection`, which judge whether the *inputs*
# the schema allows are accepted: the list filters refuse values the schema cannot express (a username
# that is no collector, an id 0), and generated Idempotency-Keys repeat across requests with different
# bodies (a 422 by design). `st run` with its default checks still reports those. And `ignored_auth`:
# in-process it reports POSTs as accepted without a token although the same requests answer 401 through
# Django's test client (tests/api/test_access_matrix.py proves every operation refuses anonymous calls).
CONFIG = {
    "checks": {
        "ignored_auth": {"enabled": False},
        "positive_data_acceptance": {"enabled": False},
        "negative_data_rejection": {"enabled": False},
    },
}

_HEALTH = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture]
# The budget: about 50 operations x a few phases, and a handful of call chains, in a minute or two.
FUZZ_SETTINGS = settings(max_examples=10, deadline=None, database=None, suppress_health_check=_HEALTH)
STATEFUL_SETTINGS = settings(
    max_examples=20,
    stateful_step_count=6,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


class _ScenarioFromTheSameLedger:
    """Each stateful scenario runs inside a savepoint that is rolled back after it: Hypothesis replays
    scenarios and requires the same choices to draw the same way, which fails when one scenario's
    writes (a customer made, an invoice paid) change what the next one's calls answer."""

    def setup(self) -> None:
        super().setup()
        self._savepoint = transaction.savepoint()

    def teardown(self) -> None:
        transaction.savepoint_rollback(self._savepoint)
        super().teardown()


def scenario_state_machine(schema: schemathesis.BaseSchema):
    """The schema's stateful test, each scenario starting from the same ledger."""
    return type("ScenarioStateMachine", (_ScenarioFromTheSameLedger, schema.as_state_machine()), {})


def load_schema(*, role: str) -> schemathesis.BaseSchema:
    """The live schema, served by the WSGI app in-process, every request sent with a token of `role`.

    The token goes in the schemathesis configuration (not in each call), so that its auth checks know
    it is the credential and can try the calls without it.
    """
    user = UserFactory(username=f"fuzzing-{role}", role=role)
    token = Token.objects.create(user=user, key=f"fuzzing-{role}".ljust(40, "0")[:40])
    config = schemathesis.Config.from_dict({**CONFIG, "headers": {"Authorization": f"Token {token.key}"}})
    return schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application, config=config)


@pytest.fixture
def keep_test_connection():
    """Like Django's test client: a request must not close the connection holding the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
