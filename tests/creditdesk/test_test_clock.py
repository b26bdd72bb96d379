"""The clock the tests run under: fixed on TODAY, whatever the date on the machine."""

import datetime as dt
import time

from django.utils import timezone

from tests.factories import TODAY


def test_every_test_runs_on_the_fixed_today_in_local_time_and_utc():
    assert timezone.localdate() == TODAY
    assert timezone.now().date() == TODAY
    assert dt.date.today() == TODAY


def test_the_test_clock_ticks_so_later_writes_get_later_times():
    first = timezone.now()
    deadline = time.monotonic() + 1  # time-machine leaves the monotonic clock alone
    while timezone.now() == first and time.monotonic() < deadline:
        pass
    assert timezone.now() > first
