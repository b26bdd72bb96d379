"""Early warning: each sign on a hand-made customer, said in words, kept and shown where people look."""

import datetime as dt
from decimal import Decimal

import pytest

from reports.early_warning import refresh_early_warnings, warnings_for
from reports.models import EarlyWarning
from tests.factories import (
    TODAY,
    AgreementFactory,
    CustomerFactory,
    ExcuseFactory,
    InvoiceFactory,
    UserFactory,
)
from tests.reports.test_forecast import paid_invoice

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


def reasons_of(customer) -> list[str]:
    found = warnings_for(type(customer).objects.filter(pk=customer.pk), today=TODAY)
    return found[customer.pk].reasons if customer.pk in found else []


def test_a_customer_paying_later_over_three_months_than_before_is_flagged_in_words():
    customer = CustomerFactory()
    for months_ago in range(4, 12):
        paid_invoice(customer, due=TODAY - (30 * months_ago + 9) * DAY, late_days=9)
    for months_ago in range(0, 3):
        paid_invoice(customer, due=TODAY - (30 * months_ago + 40) * DAY, late_days=34)

    assert reasons_of(customer) == ["Paying later than usual: 34 days late over 3 months, 9 before"]


def test_a_steady_late_payer_is_not_flagged():
    customer = CustomerFactory()
    for months_ago in range(0, 12):
        paid_invoice(customer, due=TODAY - (30 * months_ago + 40) * DAY, late_days=30)

    assert reasons_of(customer) == []


def test_the_first_broken_promise_after_a_clean_year_is_flagged_and_a_second_is_not_news():
    first_time = CustomerFactory()
    AgreementFactory(
        customer=first_time, made_on=TODAY - 20 * DAY, state="broken", closed_on=TODAY - 10 * DAY
    )
    habitual = CustomerFactory()
    for days_ago in (10, 200):
        AgreementFactory(customer=habitual, made_on=TODAY - (days_ago + 5) * DAY, state="broken",
                         closed_on=TODAY - days_ago * DAY)  # fmt: skip

    assert reasons_of(first_time) == [
        f"First broken promise: broken on {TODAY - 10 * DAY:%-d %b %Y} after a clean year"
    ]
    assert reasons_of(habitual) == []


def test_the_first_financial_change_excuse_is_flagged_other_excuses_are_not():
    customer = CustomerFactory()
    ExcuseFactory(customer=customer, category="cash_flow", given_on=TODAY - 5 * DAY)
    other = CustomerFactory()
    ExcuseFactory(customer=other, category="person_away", given_on=TODAY - 5 * DAY)

    assert reasons_of(customer) == [
        "First financial-change excuse: cash-flow trouble or other debts first, said on "
        f"{TODAY - 5 * DAY:%-d %b %Y}"
    ]
    assert reasons_of(other) == []


def test_an_open_amount_well_above_the_usual_month_end_is_flagged():
    customer = CustomerFactory()
    # 1,000 open at each of the last 12 month ends (an old invoice never paid), 6,000 more now.
    InvoiceFactory(customer=customer, issue_date=TODAY - 500 * DAY, due_date=TODAY - 470 * DAY)
    InvoiceFactory(customer=customer, issue_date=TODAY - 5 * DAY, amount=Decimal("6000.00"))

    assert reasons_of(customer) == [
        "Open amount above usual: 7,000.00 EUR open, rising, usually at most 1,000.00"
    ]


def test_the_open_amount_sign_wants_more_than_the_usual_high_by_the_minimum_and_rising():
    def customer_with(*, now: str, peak_days_ago: int | None = None):
        customer = CustomerFactory()
        InvoiceFactory(customer=customer, issue_date=TODAY - 500 * DAY, due_date=TODAY - 470 * DAY)
        if peak_days_ago is not None:  # 9,000 more open for two month ends, paid since
            invoice = paid_invoice(customer, due=TODAY - peak_days_ago * DAY, late_days=62, amount="9000.00")
            invoice.issue_date = TODAY - (peak_days_ago + 30) * DAY
            invoice.save()
        InvoiceFactory(customer=customer, issue_date=TODAY - 5 * DAY, amount=Decimal(now))
        return customer

    below_the_minimum = customer_with(now="4000.00")  # 5,000 open against a usual 1,000
    seasonal = customer_with(now="9000.00", peak_days_ago=200)  # as high as twice this year
    not_rising = CustomerFactory()  # 7,000 open since before the last month end
    InvoiceFactory(customer=not_rising, issue_date=TODAY - 500 * DAY, due_date=TODAY - 470 * DAY)
    InvoiceFactory(customer=not_rising, issue_date=TODAY - 40 * DAY, amount=Decimal("6000.00"))

    assert reasons_of(below_the_minimum) == []
    assert reasons_of(seasonal) == []
    assert reasons_of(not_rising) == []


def test_warnings_are_kept_refreshed_by_changes_and_shown_on_the_worklist_and_customer_page(client):
    manager = UserFactory(role="credit_manager")
    customer = CustomerFactory()
    InvoiceFactory(customer=customer, due_date=TODAY - 40 * DAY)  # overdue: on the worklist
    refresh_early_warnings(today=TODAY)
    assert not EarlyWarning.objects.filter(customer=customer).exists()

    # The factory announces the agreement like the services do: the reports' receiver re-judges it.
    AgreementFactory(customer=customer, made_on=TODAY - 9 * DAY, state="broken", closed_on=TODAY - 2 * DAY)
    assert EarlyWarning.objects.get(customer=customer).kinds == ["broken"]

    client.force_login(manager)
    worklist = client.get("/worklist/").content.decode()
    assert "First broken promise: broken on" in worklist
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert 'data-testid="early-warning"' in page and "First broken promise" in page
