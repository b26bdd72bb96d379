"""`bench/reports.py`'s section timer at a tiny size: every dashboard section answers 200 through the test
Client as a finance lead, for today and a past day, with and without a segment (times are not asserted)."""

import datetime as dt

import pytest

from bench import reports
from reports.sections import SECTIONS, UNCACHED
from tests.factories import TODAY, UserFactory
from tests.reports.test_snapshots import random_ledger

pytestmark = pytest.mark.django_db


def test_the_section_timer_opens_every_section_for_both_days_and_filters(capsys):
    random_ledger(1)
    UserFactory(role="finance_lead")
    days = (TODAY, TODAY - dt.timedelta(days=150))

    rows = reports.time_sections(as_of_days=days, runs=1)

    names = ["headline", *(name for name in SECTIONS if name not in UNCACHED)]
    assert [(row["section"], row["as_of"], bool(row["segment_id"])) for row in rows] == [
        (name, day, filtered) for day in days for filtered in (False, True) for name in names
    ]
    assert all(row["statuses"] == {200} and row["queries"] > 0 for row in rows)
    reports.print_sections(rows)
    assert "debt-bands" in capsys.readouterr().out
