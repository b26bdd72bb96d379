"""Fixtures for the dunning tests: the Standard policy as the data migration makes it."""

import pytest

from dunning.services import ensure_standard_policy


@pytest.fixture
def standard_policy(db):
    return ensure_standard_policy()
