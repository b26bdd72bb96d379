"""The forecast, backtest and early warnings through the API, the dashboard sections and the CSV."""

import datetime as dt
from decimal import Decimal

import pytest

from reports.early_warning import refresh_early_warnings
from tests.factories import TODAY, AgreementFactory, CustomerFactory, InvoiceFactory, UserFactory
from tests.reports.test_forecast import history

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


@pytest.fixture
def finance(client, settings):
    settings.REPORTS_CACHE_SECONDS = 0  # the backtest computed in the request (the task: see below)
    client.force_login(UserFactory(role="finance_lead"))
    customer = CustomerFactory(account_number="ACC-7")
    history(customer, late_days=20, count=8)
    InvoiceFactory(customer=customer, due_date=TODAY + 3 * DAY, amount=Decimal("700.00"))
    AgreementFactory(customer=customer, made_on=TODAY - 9 * DAY, state="broken", closed_on=TODAY - 2 * DAY)
    refresh_early_warnings(today=TODAY)
    return client


def test_the_forecast_api_gives_each_week_with_its_interval_and_the_backtest(finance):
    body = finance.get(f"/api/v1/reports/forecast/?as_of={TODAY}").json()

    (euro,) = body["results"]
    assert euro["currency"] == "EUR" and len(euro["weeks"]) == 13
    assert euro["weeks"][3]["expected"] == "700.00" and euro["weeks"][0]["naive"] == "700.00"
    (backtest,) = body["backtest"]
    assert len(backtest["origins"]) == 26 and backtest["wape"] is not None


def test_the_early_warning_api_lists_flagged_customers_with_reasons(finance):
    body = finance.get("/api/v1/reports/early-warning/").json()

    (row,) = body["results"]
    assert row["account_number"] == "ACC-7" and row["kinds"] == ["broken"]
    assert row["reasons"][0].startswith("First broken promise: broken on")


def test_the_sections_and_the_csv_show_the_same_forecast(finance):
    forecast = finance.get(f"/reports/section/forecast/?as_of={TODAY}").content.decode()
    assert 'data-chart="forecast"' in forecast and "700.00" in forecast
    backtest = finance.get(f"/reports/section/backtest/?as_of={TODAY}").content.decode()
    assert 'data-chart="backtest"' in backtest and "WAPE" in backtest
    warnings = finance.get("/reports/section/early-warning/").content.decode()
    assert 'data-warning="ACC-7"' in warnings

    rows = finance.get(f"/reports/export/forecast.csv?as_of={TODAY}").content.decode().splitlines()
    assert rows[0].startswith("as_of,currency,week") and len(rows) == 14
    assert rows[4].split(",")[5] == "700.00"  # week 4, expected


def test_a_bad_filter_is_refused_with_the_field_named(finance):
    response = finance.get("/api/v1/reports/forecast/?as_of=1999-01-01")
    assert response.status_code == 400 and "as_of" in response.json()


def test_with_a_shared_cache_the_backtest_is_queued_once_then_read_from_the_cache(
    finance, settings, monkeypatch
):
    from django.core.cache import cache

    from reports import tasks

    settings.REPORTS_CACHE_SECONDS = 900
    cache.clear()
    queued = []
    monkeypatch.setattr(tasks.refresh_backtest, "delay", lambda **kwargs: queued.append(kwargs))

    first = finance.get(f"/reports/section/backtest/?as_of={TODAY}").content.decode()
    again = finance.get(f"/reports/section/backtest/?as_of={TODAY}").content.decode()
    assert "being computed" in first and "being computed" in again
    assert len(queued) == 1  # a second reader does not queue it again

    tasks.refresh_backtest(**queued[0])
    done = finance.get(f"/reports/section/backtest/?as_of={TODAY}").content.decode()
    assert "being computed" not in done and 'data-chart="backtest"' in done


def test_the_pdf_report_holds_the_forecast_the_backtest_and_the_warnings(finance):
    import io

    from pypdf import PdfReader

    response = finance.get(f"/reports/report.pdf?as_of={TODAY}")

    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    for words in [
        "Cash-in forecast, 13 weeks",
        "Expected receipts in EUR",
        "against naive",
        "First broken promise",
    ]:
        assert words in text, words
