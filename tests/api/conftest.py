"""Fixtures for API tests: clients authenticated by token as each role, throttles reset per test."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from creditdesk.tokens import issue_token


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Users are made in every test; a slow password hash would be most of the run time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_throttles():
    """Throttle counters live in the cache; a test starts with none, so a long run never hits them."""
    cache.clear()
    yield
    cache.clear()


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user).key}")
    return client


@pytest.fixture
def as_manager(credit_manager):
    return client_for(credit_manager)


@pytest.fixture
def as_collector(collector):
    return client_for(collector)


@pytest.fixture
def as_finance(finance_lead):
    return client_for(finance_lead)


@pytest.fixture
def as_integrator(integrator):
    return client_for(integrator)
