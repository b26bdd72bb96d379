"""A finance lead opens the reports dashboard in Chromium and sees the charts drawn."""

import pytest

from tests.browser.conftest import log_in, screenshot
from tests.factories import TODAY, ExcuseFactory, InteractionFactory, UserFactory
from tests.reports.test_ledger_figures import ledger  # noqa: F401  (the hand-worked ledger)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def drawn(page, selector: str) -> list[dict]:
    """Bounding boxes of the shapes matching `selector` that the browser actually laid out."""
    return [box for box in (shape.bounding_box() for shape in page.locator(selector).all()) if box]


def test_finance_lead_sees_aging_trend_pareto_and_excuse_charts(browser_page, ledger):  # noqa: F811
    UserFactory(username="fiona", first_name="Fiona", role="finance_lead")
    InteractionFactory.create_batch(3, minutes_spent=20)
    ExcuseFactory.create_batch(2, category="cash_flow", given_on=TODAY)
    log_in(browser_page, "fiona")

    browser_page.goto(f"/reports/?as_of={TODAY.isoformat()}")

    eur = browser_page.locator('section[data-currency="EUR"]')
    aging_bars = drawn(eur, 'svg[data-chart="aging"] rect.bar')
    assert len(aging_bars) == 5 and max(box["height"] for box in aging_bars) > 50
    assert eur.locator('[data-figure="dso"]').inner_text() == "92.4 days"
    trend_dots = drawn(eur, 'svg[data-chart="dso-trend"] circle.dot')
    assert len(trend_dots) >= 12
    assert drawn(eur, 'svg[data-chart="pareto"] polyline.line')
    assert drawn(browser_page, 'svg[data-chart="excuse-mix"] rect.bar')
    screenshot(browser_page, "reports-dashboard")


def test_worth_it_ranking_opens_with_scores(browser_page, ledger):  # noqa: F811
    UserFactory(username="carl", role="credit_manager")
    log_in(browser_page, "carl")

    browser_page.goto(f"/reports/worth-it/?as_of={TODAY.isoformat()}")

    scores = browser_page.locator("[data-score]").all_inner_texts()
    assert len(scores) == 3 and all(0 <= int(score) <= 100 for score in scores)
    assert browser_page.get_by_role("button", name="Save weights").is_visible()
    screenshot(browser_page, "reports-worth-it")
