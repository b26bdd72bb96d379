"""`python -m bench foresight` at a tiny size, so the benchmark cannot rot: the forecast live and from
the kept bins (the same figures), the backtest (cold, warm and on one connection), the floor. Times
are never asserted."""

import datetime as dt
from decimal import Decimal

import pytest

from bench import foresight
from reports.models import KeptForecast, LatenessBin
from tests.factories import TODAY, CustomerFactory, InvoiceFactory
from tests.reports.test_forecast import history

pytestmark = pytest.mark.django_db


def test_the_foresight_benchmark_times_the_forecast_and_the_backtest_against_the_floor():
    for late_days in (3, 20, 30):  # every history payment received by TODAY
        customer = CustomerFactory()
        history(customer, late_days=late_days)
        InvoiceFactory(customer=customer, due_date=TODAY + dt.timedelta(days=5), amount=Decimal("800.00"))

    kept_before = list(LatenessBin.objects.values_list("customer_id", "bin", "amount").order_by("pk"))

    found = foresight.measure(as_of=TODAY, runs=1, origins=2)

    assert found["open_by_currency"] == {"EUR": Decimal("2400.00")}
    assert found["kept_read"] and found["same_figures"] and found["bins"] > 0 and found["spreads"] > 0
    assert found["forecast_open"] == {"EUR": Decimal("2400.00")}
    assert Decimal("0") < found["forecast_total"]["EUR"] <= Decimal("2400.00")
    assert set(found["wape"]) == {"EUR"} and found["origins"] == 2 and found["same_backtest"]
    timings = (
        "floor_s",
        "forecast_live_s",
        "forecast_kept_s",
        "backtest_s",
        "backtest_warm_s",
        "backtest_one_s",
    )
    assert all(found[name] >= 0 for name in timings)
    assert KeptForecast.objects.count() == 2  # the cold run keeps its week-ends, as the Celery task does
    # What it wrote is rolled back (the payments above kept their customers' bins already).
    assert list(LatenessBin.objects.values_list("customer_id", "bin", "amount").order_by("pk")) == kept_before
