"""In Chromium, under the site's Content-Security-Policy: no page breaks a rule, and the scripts still work.
Also the lockout page a person sees after too many wrong passwords."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshot
from tests.calls.scenes import overdue_customer
from tests.factories import TODAY, UserFactory
from tests.reports.test_ledger_figures import ledger  # noqa: F401  (the hand-worked ledger)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fixed_day(settings):
    settings.CREDITDESK_TODAY = TODAY


@pytest.fixture
def violations(browser_page):
    """What Chromium refused because of the policy, as its console reports it."""
    refused: list[str] = []
    browser_page.on(
        "console", lambda message: "Content Security Policy" in message.text and refused.append(message.text)
    )
    return refused


def test_collectors_pages_break_no_policy_rule_and_their_scripts_work(browser_page, violations):
    page = browser_page
    carla = UserFactory(username="carla", role="collector")
    customer = overdue_customer(carla)
    log_in(page, "carla")

    page.goto(f"/customers/{customer.pk}/")
    page.get_by_label("Outcome").select_option("promise")  # calls.js shows the promise fields
    expect(page.get_by_label("Amount", exact=True)).to_be_visible()
    contacts = page.locator("#contacts ul > li")
    before = contacts.count()
    page.get_by_role("button", name="Add contact").click()  # htmx
    expect(contacts).to_have_count(before + 1)
    page.locator("#contacts").get_by_role("button", name="Cancel").click()  # calls.js, no inline handler
    expect(contacts).to_have_count(before)

    page.goto("/api-token/")
    page.get_by_role("button", name="Make my token").click()
    page.wait_for_load_state()  # select-on-focus.js is deferred: it may still load when the field is there
    page.get_by_label("Token").focus()
    selected = "[document.activeElement.selectionStart, document.activeElement.selectionEnd]"
    assert page.evaluate(selected) == [0, 40]  # select-on-focus.js selected the whole token

    assert violations == []


def test_finance_and_api_pages_break_no_policy_rule(browser_page, violations, ledger):  # noqa: F811
    page = browser_page
    UserFactory(username="fiona", role="finance_lead")
    log_in(page, "fiona")
    page.goto(f"/reports/?as_of={TODAY.isoformat()}")
    page.locator("#section-trend").scroll_into_view_if_needed()  # htmx loads it (no inline script)
    expect(page.locator("#section-trend figcaption.legend span").first).to_be_visible()

    page.goto("/api/v1/docs/")
    expect(page.locator(".swagger-ui .information-container")).to_be_visible()

    assert violations == []


def test_too_many_wrong_passwords_show_the_lockout_page(browser_page, violations):
    page = browser_page
    UserFactory(username="carla", role="collector")
    page.goto("/login/")
    for _ in range(5):
        page.get_by_label("Username").fill("carla")
        page.get_by_label("Password").fill("wrong")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()

    expect(page.get_by_role("heading", name="Sign-in locked")).to_be_visible()
    assert "Wait 15 minutes" in page.get_by_role("alert").inner_text()
    screenshot(page, "sign-in-locked")
    assert violations == []
