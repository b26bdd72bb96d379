"""The dunning benchmark's small mode, so its code cannot rot: it checks what the run made, not times."""

import datetime as dt

import pytest

from bench.dunning import run
from tests.factories import CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db

DUE = dt.date(2026, 11, 2)


def test_the_benchmark_runs_the_day_then_a_repeat_that_creates_nothing(settings, standard_policy):
    settings.DUNNING_BATCH_SIZE = 2
    for customer in CustomerFactory.create_batch(5):
        InvoiceFactory(customer=customer, due_date=DUE)
    figures = run(today=(DUE + dt.timedelta(days=3)).isoformat(), in_process=True)
    assert figures["customers"] == 5 and figures["batches"] == 3
    assert figures["reminders_created"] == 5 and figures["repeat_reminders_created"] == 0
    assert figures["repeat_proposals_made"] == 0
    assert figures["run_seconds"] >= 0 and figures["repeat_seconds"] >= 0
