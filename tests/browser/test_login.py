"""A person signs in through the real login page in Chromium and sees their role."""

import pytest

from tests.browser.conftest import log_in, screenshot
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_collector_signs_in_and_sees_their_role(browser_page):
    UserFactory(username="carla", first_name="Carla", role="collector")
    log_in(browser_page, "carla")
    assert browser_page.get_by_test_id("role").inner_text() == "Collector"
    screenshot(browser_page, "home-collector")


def test_wrong_password_is_refused_with_a_message(browser_page):
    UserFactory(username="carla", role="collector")
    browser_page.goto("/login/")
    browser_page.get_by_label("Username").fill("carla")
    browser_page.get_by_label("Password").fill("wrong")
    browser_page.get_by_role("button", name="Sign in").click()
    assert "correct username and password" in browser_page.get_by_role("alert").inner_text()
