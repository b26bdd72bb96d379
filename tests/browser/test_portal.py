"""In Chromium, end to end: the daily run mails a reminder through real SMTP (aiosmtpd on loopback); the
customer opens its link, disputes one invoice and promises to pay another; the next run sends nothing
for either; the collector's worklist and the customer page show both with the source "portal"."""

import datetime as dt
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from dunning.delivery import deliver
from dunning.services import ensure_standard_policy, run_dunning_batch
from tests.browser.conftest import log_in, screenshot
from tests.factories import TODAY, ContactFactory, CustomerFactory, InvoiceFactory, UserFactory
from tests.integration.conftest import smtp_inbox  # noqa: F401 - the real SMTP server fixture, shared

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}


def daily_run(customer, today):
    result = run_dunning_batch(customer_ids=[customer.pk], today=today)
    for reminder_id in result.created_reminder_ids:
        deliver(reminder_id)
    return result


def keep(path: Path, name: str) -> None:
    """Screenshots also go to docs/screenshots when CREDITDESK_DOC_SCREENSHOTS is set (how they were made)."""
    import os

    if os.environ.get("CREDITDESK_DOC_SCREENSHOTS"):
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS / f"{name}.png")


def test_customer_disputes_and_promises_from_the_reminder_and_dunning_stops_for_both(
    browser_page,
    chromium,
    live_server,
    smtp_inbox,  # noqa: F811 - the imported fixture
    settings,
):
    settings.CREDITDESK_TODAY = TODAY
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_inbox.port
    settings.PORTAL_BASE_URL = live_server.url
    ensure_standard_policy()
    carla = UserFactory(
        username="carla", first_name="Carla", role="collector", email="carla@creditdesk.example"
    )
    customer = CustomerFactory(
        name="Harbour & Co", account_number="H-100", collector=carla, email="ap@harbour.example"
    )
    ContactFactory(customer=customer, name="Hanna Harbour", email="hanna@harbour.example")
    due = TODAY - dt.timedelta(days=3)  # the polite step (+3) is due today
    wrong, owed = (
        InvoiceFactory(customer=customer, number=number, due_date=due, amount=Decimal(amount))
        for number, amount in (("H-INV-1", "480.00"), ("H-INV-2", "1250.00"))
    )

    daily_run(customer, TODAY)
    [reminder] = smtp_inbox.messages
    link = re.search(r"http://\S+/p/[\w-]+/", reminder.get_payload()).group(0)

    page = browser_page
    page.goto(link)
    assert page.get_by_role("heading", level=1).inner_text().startswith("Harbour & Co")
    assert "Friendly reminder sent" in page.get_by_test_id(
        "invoice-H-INV-1"
    ).inner_text() or "reminder sent" in (page.get_by_test_id("invoice-H-INV-1").inner_text())
    keep(screenshot(page, "portal-desktop"), "portal-desktop")

    page.get_by_text("An invoice is wrong, or we never got it").click()
    dispute = page.locator("form[action$='/answer/dispute/']")
    dispute.get_by_label("H-INV-1").check()
    dispute.get_by_label("What is wrong").select_option("quantity")
    dispute.get_by_label("In your words").fill("We received 8 pallets, not 10.")
    dispute.get_by_role("button", name="Send the dispute").click()
    assert "dispute is recorded" in page.get_by_test_id("done").inner_text()

    page.get_by_text("We will pay on a date").click()
    promise = page.locator("form[action$='/answer/promise/']")
    promise.get_by_label("H-INV-2").check()
    promise.get_by_label("We will pay on").fill((TODAY + dt.timedelta(days=14)).isoformat())
    promise.get_by_role("button", name="Send the promise").click()
    assert "promise is recorded" in page.get_by_test_id("done").inner_text()
    assert "Disputed" in page.get_by_test_id("invoice-H-INV-1").inner_text()
    assert "Covered by your promise" in page.get_by_test_id("invoice-H-INV-2").inner_text()

    phone = chromium.new_context(viewport=PHONE, base_url=live_server.url, is_mobile=True)
    small = phone.new_page()
    small.goto(link)
    keep(screenshot(small, "portal-phone"), "portal-phone")
    small.get_by_text("An invoice is wrong, or we never got it").click()
    small.locator("form[action$='/answer/dispute/']").get_by_role("button", name="Send the dispute").click()
    assert small.locator(".error").count() >= 1  # nothing chosen: per-field messages, nothing written
    keep(screenshot(small, "portal-dispute-phone"), "portal-dispute-phone")
    phone.close()

    confirmations = [m for m in smtp_inbox.messages if m["X-CreditDesk-Portal"]]
    assert sorted(m["X-CreditDesk-Portal"] for m in confirmations) == ["dispute", "promise"]
    assert all(m["To"] == "hanna@harbour.example" for m in confirmations)

    # The next step (+7) falls due four days later: nothing for the disputed or the promised invoice.
    later = daily_run(customer, TODAY + dt.timedelta(days=4))
    assert later.reminders == [] and len([m for m in smtp_inbox.messages if m["X-CreditDesk-Reminder"]]) == 1

    log_in(page, "carla")
    page.goto("/worklist/")
    row = page.get_by_test_id("worklist-row").filter(has_text="Harbour & Co")
    reasons = row.inner_text()
    assert "Portal: disputed H-INV-1 (Quantity)" in reasons and "Portal: promised EUR 1250.00" in reasons
    screenshot(page, "portal-worklist")
    page.goto(f"/customers/{customer.pk}/")
    timeline = page.get_by_test_id("timeline").inner_text()
    assert (
        "Portal with Hanna Harbour: Dispute" in timeline
        and "Portal with Hanna Harbour: Promise to pay" in timeline
    )
    keep(screenshot(page, "portal-customer-page"), "portal-customer-page")
