"""In Chromium: a collector works the worklist and logs a promise; a credit manager resolves a complaint."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from calls.models import Complaint
from tests.browser.conftest import log_in, screenshot
from tests.calls.scenes import broken_promise_customer, overdue_customer
from tests.factories import (
    TODAY,
    ComplaintFactory,
    CustomerFactory,
    ExcuseFactory,
    InvoiceFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fixed_day(settings):
    settings.CREDITDESK_TODAY = TODAY


def test_collector_logs_a_promise_and_the_customer_leaves_todays_worklist(browser_page):
    page = browser_page
    carla = UserFactory(username="carla", first_name="Carla", role="collector")
    top = broken_promise_customer(carla, amount="1200.00")
    for days_ago in (20, 80):
        ExcuseFactory(customer=top, given_on=TODAY - dt.timedelta(days=days_ago))
    others = [overdue_customer(carla, days_late=days, amount="900.00") for days in (12, 45, 95)]
    log_in(page, "carla")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My worklist").click()
    rows = page.get_by_test_id("worklist-row")
    assert rows.count() == 4
    assert "Promise of 1,200.00 EUR broken on 14 Nov" in rows.first.inner_text()
    screenshot(page, "worklist")

    rows.first.get_by_role("link", name=top.name).click()
    page.wait_for_url(re.compile(rf"/customers/{top.pk}/$"))
    assert "second 'Invoice not received' in 6 months" in page.get_by_test_id("excuse-flag").inner_text()
    screenshot(page, "customer-page")

    page.get_by_label("Contact", exact=True).select_option(label=str(top.contacts.get()))
    page.get_by_label("Outcome").select_option("promise")
    page.get_by_label("Minutes").fill("8")
    page.get_by_label("Notes").fill("Paying the full amount next week")
    page.get_by_label("Amount", exact=True).fill("1200.00")
    page.get_by_label("Pay by").fill((TODAY + dt.timedelta(days=7)).isoformat())
    page.get_by_label(re.compile(top.invoices.get().number)).check()
    page.get_by_role("button", name="Save call").click()

    assert "Call logged" in page.get_by_test_id("call-saved").inner_text()
    timeline = page.get_by_test_id("timeline").inner_text()
    assert "Promise to pay: 1,200.00 EUR (active)" in timeline
    assert "Paying the full amount next week" in timeline
    assert page.url.endswith(f"/customers/{top.pk}/")  # no full reload: the form and timeline were swapped
    screenshot(page, "customer-page-after-call")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My worklist").click()
    names = page.get_by_test_id("worklist").inner_text()
    assert top.name not in names and all(customer.name in names for customer in others)


def test_log_call_form_shows_errors_per_field_without_losing_input(browser_page):
    page = browser_page
    carla = UserFactory(username="carla", role="collector")
    customer = overdue_customer(carla)
    log_in(page, "carla")
    page.goto(f"/customers/{customer.pk}/")
    page.get_by_label("Outcome").select_option("promise")
    page.get_by_label("Notes").fill("Said maybe")
    page.get_by_role("button", name="Save call").click()
    expect(page.get_by_text("How much did they promise?")).to_be_visible()
    expect(page.get_by_text("By when?")).to_be_visible()
    assert page.get_by_label("Notes").input_value() == "Said maybe"


def test_credit_manager_resolves_a_complaint(browser_page):
    page = browser_page
    UserFactory(username="maria", first_name="Maria", role="credit_manager")
    customer = CustomerFactory(name="Acme Tools")
    invoice = InvoiceFactory(customer=customer, status="disputed")
    complaint = ComplaintFactory(customer=customer, description="Charged twice for freight")
    complaint.invoices.set([invoice])
    log_in(page, "maria")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Complaints").click()
    row = page.get_by_test_id("complaint-row").filter(has_text="Charged twice for freight")
    row.get_by_label("Outcome").select_option("upheld")
    row.get_by_role("button", name="Resolve").click()
    assert "Upheld" in page.get_by_test_id("complaint-outcome").inner_text()
    assert Complaint.objects.get().outcome == "upheld"
    screenshot(page, "complaints")
