"""A finance lead opens the dashboard in Chromium and finds the forecast and backtest charts drawn."""

import datetime as dt

import pytest

from tests.browser.conftest import log_in, screenshot
from tests.browser.test_reports_dashboard import drawn, reveal_section
from tests.factories import TODAY, CustomerFactory, InvoiceFactory, UserFactory
from tests.reports.test_forecast import history

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_finance_lead_sees_the_forecast_band_and_the_backtest_lines(browser_page, settings):
    settings.REPORTS_CACHE_SECONDS = 0  # the backtest computed in the request, not by a worker
    UserFactory(username="fiona", first_name="Fiona", role="finance_lead")
    customer = CustomerFactory()
    history(customer, late_days=20, count=10)
    for days in (3, 10, 24, 40):
        InvoiceFactory(customer=customer, due_date=TODAY + dt.timedelta(days=days))
    log_in(browser_page, "fiona")

    browser_page.goto(f"/reports/?as_of={TODAY.isoformat()}")

    for name in ("forecast", "backtest"):
        reveal_section(browser_page, name)
    band = drawn(browser_page, '#section-forecast [data-currency="EUR"] svg[data-chart="forecast"] rect.bar')
    assert len(band) == 13
    expected = drawn(browser_page, '#section-forecast svg[data-chart="forecast"] circle.dot')
    assert len(expected) == 26  # the expected and the naive line, a dot per week
    lines = drawn(
        browser_page, '#section-backtest [data-currency="EUR"] svg[data-chart="backtest"] polyline.line'
    )
    assert len(lines) == 3 and max(box["width"] for box in lines) > 200
    screenshot(browser_page, "reports-forecast")
