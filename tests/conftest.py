"""Shared fixtures, the clock every test runs under, and the rule for tests that need real services.

Every test runs on TODAY (tests/factories.py): the clock of this process is moved there before the test
and ticks on from there, so "today", "now" and `auto_now` agree with the data the factories build
around TODAY, whatever the date on the machine. Processes a test starts (a Celery worker, Chromium)
keep the real clock: such a test passes the day explicitly (`today=`, `?as_of=`, the task's argument).
CI runs the suite a second time with the machine's clock moved a year ahead (.ci/run) to prove it.

A test that needs PostgreSQL, Redis, a Celery worker or a browser skips when the service is missing,
unless CREDITDESK_REQUIRE_SERVICES is set (as in CI), when it fails instead.
"""

import datetime as dt

import hypothesis
import pytest
import time_machine
from django.conf import settings

from tests.factories import TODAY, UserFactory

# Property tests judge the code, not the machine: on a shared two-core machine (CI's, or one building
# a bench ledger beside the suite) drawing inputs can stall for seconds, which is no fault to report.
hypothesis.settings.register_profile(
    "shared_machine", deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow]
)
hypothesis.settings.load_profile("shared_machine")


def need_service(available: bool, what: str) -> None:
    """Skip (locally) or fail (CI) a test whose service is missing."""
    if available:
        return
    if settings.CREDITDESK_REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (CREDITDESK_REQUIRE_SERVICES is set) but is not available")
    pytest.skip(f"{what} is not available")


# Late morning in Amsterdam (the project's TIME_ZONE), so the UTC date and the local date are both TODAY.
# Given in UTC so that time-machine moves the clock and leaves the process's time zone alone.
TODAY_AT = dt.datetime.combine(TODAY, dt.time(10, 0), tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock():
    """Move this process's clock to TODAY_AT for the test; it ticks on (durations and ordering by
    `created_at` behave as in real life). A test may `clock.shift(...)` or `clock.move_to(...)`."""
    with time_machine.travel(TODAY_AT, tick=True) as traveller:
        yield traveller


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
