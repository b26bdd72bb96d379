"""A finance lead opens the reports dashboard in Chromium and sees the charts drawn."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshot
from tests.factories import TODAY, ExcuseFactory, InteractionFactory, UserFactory
from tests.reports.test_ledger_figures import ledger  # noqa: F401  (the hand-worked ledger)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def drawn(page, selector: str) -> list[dict]:
    """Bounding boxes of the shapes matching `selector` that the browser actually laid out."""
    return [box for box in (shape.bounding_box() for shape in page.locator(selector).all()) if box]


def reveal_section(page, name: str) -> None:
    """Scroll a dashboard section into view and wait until htmx has loaded its chart."""
    page.locator(f"#section-{name}").scroll_into_view_if_needed()
    expect(page.locator(f"#section-{name} svg[data-chart]").first).to_be_visible()


def test_finance_lead_sees_aging_trend_pareto_and_excuse_charts(browser_page, ledger):  # noqa: F811
    UserFactory(username="fiona", first_name="Fiona", role="finance_lead")
    InteractionFactory.create_batch(3, minutes_spent=20)
    ExcuseFactory.create_batch(2, category="cash_flow", given_on=TODAY)
    log_in(browser_page, "fiona")

    browser_page.goto(f"/reports/?as_of={TODAY.isoformat()}")

    headline = browser_page.locator('.headline section[data-currency="EUR"]')
    assert headline.locator('[data-figure="dso"]').inner_text() == "92.4 days"
    for name in ("aging", "trend", "effort", "excuses"):  # each loads when scrolled into view (htmx)
        reveal_section(browser_page, name)
    aging_bars = drawn(browser_page, '#section-aging [data-currency="EUR"] svg[data-chart="aging"] rect.bar')
    assert len(aging_bars) == 5 and max(box["height"] for box in aging_bars) > 50
    trend_dots = drawn(
        browser_page, '#section-trend [data-currency="EUR"] svg[data-chart="dso-trend"] circle.dot'
    )
    assert len(trend_dots) >= 12
    assert drawn(browser_page, '#section-effort [data-currency="EUR"] svg[data-chart="pareto"] polyline.line')
    assert drawn(browser_page, '#section-excuses svg[data-chart="excuse-mix"] rect.bar')
    screenshot(browser_page, "reports-dashboard")


def test_worth_it_ranking_opens_with_scores(browser_page, ledger):  # noqa: F811
    UserFactory(username="carl", role="credit_manager")
    log_in(browser_page, "carl")

    browser_page.goto(f"/reports/worth-it/?as_of={TODAY.isoformat()}")

    scores = browser_page.locator("[data-score]").all_inner_texts()
    assert len(scores) == 3 and all(0 <= int(score) <= 100 for score in scores)
    assert browser_page.get_by_role("button", name="Save weights").is_visible()
    screenshot(browser_page, "reports-worth-it")
