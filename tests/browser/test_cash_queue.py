"""In Chromium: a credit manager confirms a suggestion in the cash queue with one click."""

import pytest
from playwright.sync_api import expect

from banking.models import BankTransaction
from banking.services import import_statement_file
from customers.access import SYSTEM
from invoices.models import Invoice
from tests.banking.conftest import ledger  # noqa: F401  (the fixture the sample statements were written for)
from tests.banking.test_queue import UNKNOWN_ACCOUNT
from tests.browser.conftest import log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_credit_manager_confirms_the_best_suggestion_and_the_invoice_is_paid(
    browser_page,
    ledger,  # noqa: F811  (the fixture imported above)
    credit_manager,
):
    page = browser_page
    import_statement_file(content=UNKNOWN_ACCOUNT, actor=SYSTEM)
    log_in(page, "cm")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cash queue").click()
    lines = page.get_by_test_id("queue-line")
    expect(lines).to_have_count(2)
    bakker = lines.filter(has_text="BAKKER LOGISTICS")
    best = bakker.get_by_test_id("suggestion").first
    expect(best).to_contain_text("Bakker Logistics GmbH")
    expect(best).to_contain_text("INV-2026-00501 480.00")
    screenshot(page, "cash-queue")

    best.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("status")).to_contain_text("Applied 480.00 EUR from BAKKER LOGISTICS")
    expect(page.get_by_test_id("queue-line")).to_have_count(1)
    assert BankTransaction.objects.get(entry_reference="B6K25A001").status == "confirmed"
    assert Invoice.objects.get(number="INV-2026-00501").status == "paid"
    screenshot(page, "cash-queue-after-confirm")
