"""Today's worklist: who needs action, why in words, in priority order, and who leaves it."""

import datetime as dt
from decimal import Decimal

import pytest
from django.template import Context, Template

from agreements.services import InstalmentTerms
from calls.selectors import (
    WorklistRow,
    filter_worklist,
    repeated_excuses,
    with_worth_it,
    worklist,
    worklist_rows,
)
from calls.services import CallLog, log_call
from tests.calls.scenes import broken_promise_customer, overdue_customer
from tests.factories import (
    TODAY,
    AgreementFactory,
    CustomerFactory,
    ExcuseFactory,
    InstalmentFactory,
    InteractionFactory,
    InvoiceFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def rows_for(user, today=TODAY, **criteria):
    queryset = filter_worklist(worklist(user=user, today=today), criteria=criteria, today=today)
    return worklist_rows(list(queryset), today=today)


def test_broken_promise_comes_first_with_the_reason_in_words(collector):
    overdue_customer(collector, days_late=100, amount="9000.00")
    broken = broken_promise_customer(collector, amount="1200.00", broken_days_ago=9)
    rows = rows_for(collector)
    assert rows[0].customer == broken
    assert "Promise of 1,200.00 EUR broken on 14 Nov" in rows[0].reasons
    assert rows[0].next_action.startswith("Call")


def test_overdue_reason_counts_invoices_30_days_late_with_amount_per_currency(collector):
    customer = overdue_customer(collector, days_late=40, amount="2800.00", invoices=3)
    InvoiceFactory(
        customer=customer, currency="USD", amount=Decimal("500.00"), due_date=TODAY - dt.timedelta(days=35)
    )
    [row] = rows_for(collector)
    assert row.reasons == ["4 invoices 30+ days overdue, 8,400.00 EUR, 500.00 USD"]
    assert [str(money) for money in row.overdue] == ["8,400.00 EUR", "500.00 USD"]
    assert row.days_late == 40


def test_task_from_a_dunning_step_is_on_the_worklist_with_its_reason(collector):
    customer = CustomerFactory(collector=collector)
    TaskFactory(customer=customer, reason="Call task from step +7 days", due_on=TODAY - dt.timedelta(days=1))
    [row] = rows_for(collector)
    assert row.customer == customer and row.reasons == ["Call task from step +7 days"]


def test_customers_that_need_nothing_today_are_left_off(collector):
    overdue_customer(collector, days_late=3)  # reminders still do the work
    with_promise = overdue_customer(collector, days_late=40)
    AgreementFactory(customer=with_promise)  # an active promise
    recently_called = overdue_customer(collector, days_late=40)
    InteractionFactory(customer=recently_called)
    paused = overdue_customer(collector, days_late=40, dunning_paused_until=TODAY + dt.timedelta(days=5))
    planned = overdue_customer(collector, days_late=40)
    TaskFactory(customer=planned, due_on=TODAY + dt.timedelta(days=2))
    assert rows_for(collector) == [] and paused and planned


def test_logging_a_call_with_a_promise_takes_the_customer_off_todays_worklist(collector):
    customer = broken_promise_customer(collector)
    TaskFactory(customer=customer, reason="Agreement broken", kind="broken_agreement")
    assert [row.customer for row in rows_for(collector)] == [customer]
    call = CallLog(
        outcome="promise",
        minutes_spent=6,
        promise=InstalmentTerms(TODAY + dt.timedelta(days=5), Decimal("1200.00")),
        next_action_on=TODAY + dt.timedelta(days=6),
    )
    log_call(customer=customer, user=collector, call=call, today=TODAY)
    assert rows_for(collector) == []


def test_a_collector_sees_only_their_portfolio_and_a_credit_manager_sees_all(collector, credit_manager):
    mine = overdue_customer(collector)
    other = overdue_customer(UserFactory(role="collector"))
    assert [row.customer for row in rows_for(collector)] == [mine]
    assert {row.customer for row in rows_for(credit_manager)} == {mine, other}


def test_filters_by_reason_amount_days_and_sorting(credit_manager):
    small = overdue_customer(days_late=10, amount="100.00", invoices=1)
    big = overdue_customer(days_late=70, amount="20000.00", invoices=1)
    broken = broken_promise_customer()
    assert [row.customer for row in rows_for(credit_manager, reason="broken")] == [broken]
    assert [row.customer for row in rows_for(credit_manager, min_amount=Decimal("5000"))] == [big]
    assert [row.customer for row in rows_for(credit_manager, min_days_overdue=60)] == [big]
    assert [row.customer for row in rows_for(credit_manager, sort="amount")][:2] == [big, broken]
    assert rows_for(credit_manager, sort="days")[-1].customer == small


def test_promise_falling_due_today_asks_for_a_check_until_someone_calls(collector):
    customer = CustomerFactory(collector=collector)
    agreement = AgreementFactory(customer=customer, total_amount=Decimal("750.00"))
    InstalmentFactory(agreement=agreement, sequence=1, due_date=TODAY, amount=Decimal("750.00"))
    [row] = rows_for(collector)
    assert row.reasons == ["Promise of 750.00 EUR falls due today"]
    InteractionFactory(customer=customer, outcome="reached")
    assert rows_for(collector) == []


def test_the_third_excuse_of_a_kind_in_six_months_is_flagged():
    customer = CustomerFactory()
    for days_ago in (5, 60, 150):
        ExcuseFactory(
            customer=customer, category="invoice_not_received", given_on=TODAY - dt.timedelta(days=days_ago)
        )
    ExcuseFactory(customer=customer, category="invoice_not_received", given_on=TODAY - dt.timedelta(days=300))
    ExcuseFactory(customer=customer, category="cash_flow")
    assert repeated_excuses(customer, today=TODAY) == ["third 'Invoice not received' in 6 months"]


def test_the_worth_it_tooltip_reads_as_the_templates_loop_wrote_it():
    """The tooltip is spelled out in Python for speed: the same words and localized numbers (grouping,
    signs, decimals) as `{{ c.label }}: {{ c.points }} · ` for each component in the template."""
    from reports.worth_it import WorthIt, WorthItComponent

    points = [Decimal("54.9"), Decimal("-10.0"), Decimal("0.0"), Decimal("-1234.5"), Decimal("3")]
    worth_it = WorthIt(
        score=42,
        components=[
            WorthItComponent(f"c{n}", f"Component <{n}> & co", n, Decimal("1"), value)
            for n, value in enumerate(points)
        ],
    )
    customer = CustomerFactory()
    [row] = with_worth_it([WorklistRow(customer=customer)], scores={customer.pk: worth_it})
    loop = Template("{% for c in w.components %}{{ c.label }}: {{ c.points }} · {% endfor %}")
    shown = Template("{{ row.worth_it_title }}")
    assert row.worth_it is worth_it and "1,234.5" in row.worth_it_title
    assert shown.render(Context({"row": row})) == loop.render(Context({"w": worth_it}))
    [unscored] = with_worth_it([WorklistRow(customer=customer)], scores={})
    assert (unscored.worth_it, unscored.worth_it_title) == (None, "")
