"""Shared fixtures, and the rule for tests that need real services.

A test that needs PostgreSQL, Redis, a Celery worker or a browser skips when the service is missing,
unless CREDITDESK_REQUIRE_SERVICES is set (as in CI), when it fails instead.
"""

import pytest
from django.conf import settings

from tests.factories import TODAY, UserFactory


def need_service(available: bool, what: str) -> None:
    """Skip (locally) or fail (CI) a test whose service is missing."""
    if available:
        return
    if settings.CREDITDESK_REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (CREDITDESK_REQUIRE_SERVICES is set) but is not available")
    pytest.skip(f"{what} is not available")


@pytest.fixture
def today():
    return TODAY


@pytest.fixture
def credit_manager(db):
    return UserFactory(username="cm", role="credit_manager")


@pytest.fixture
def collector(db):
    return UserFactory(username="col", role="collector")


@pytest.fixture
def finance_lead(db):
    return UserFactory(username="fin", role="finance_lead")


@pytest.fixture
def integrator(db):
    return UserFactory(username="int", role="integrator")


@pytest.fixture
def postgres_only(db):
    from django.db import connection

    need_service(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
