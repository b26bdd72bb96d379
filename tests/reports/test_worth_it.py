"""The worth-it score: each component, its weight and points, worked out by hand on a small ledger."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from invoices.services import allocate
from reports.models import WorthItSettings
from reports.selectors import worth_it_ranking, worth_it_scores
from tests.factories import (
    TODAY,
    AgreementFactory,
    ComplaintFactory,
    CustomerFactory,
    ExcuseFactory,
    InteractionFactory,
    InvoiceFactory,
    PaymentFactory,
    ReminderFactory,
)

pytestmark = pytest.mark.django_db


def days_ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def paid_invoice(customer, amount: str, *, due_days_ago: int, paid_days_ago: int):
    invoice = InvoiceFactory(customer=customer, amount=Decimal(amount), due_date=days_ago(due_days_ago))
    payment = PaymentFactory(customer=customer, amount=Decimal(amount), received_on=days_ago(paid_days_ago))
    allocate(payment=payment, invoice=invoice, amount=Decimal(amount))
    return invoice


def at(days: int):
    return timezone.make_aware(dt.datetime.combine(days_ago(days), dt.time(10, 0)))


@pytest.fixture
def ledger():
    """Three EUR customers and one USD customer whose scores are worked out in the tests."""
    demanding = CustomerFactory(name="Demanding BV", currency="EUR")
    paid_invoice(demanding, "1000.00", due_days_ago=40, paid_days_ago=30)  # 10 days late
    InteractionFactory(customer=demanding, occurred_at=at(20), minutes_spent=30)
    InteractionFactory(customer=demanding, occurred_at=at(10), minutes_spent=30)
    InteractionFactory(customer=demanding, occurred_at=at(400), minutes_spent=600)  # outside the 12 months
    ReminderFactory(customer=demanding, run_on=days_ago(35))
    AgreementFactory(customer=demanding, state="broken", closed_on=days_ago(15))
    ExcuseFactory(customer=demanding, given_on=days_ago(25))
    ComplaintFactory(customer=demanding, opened_on=days_ago(33), resolved_on=days_ago(31), outcome="rejected")
    punctual = CustomerFactory(name="Punctual NV", currency="EUR")
    paid_invoice(punctual, "500.00", due_days_ago=20, paid_days_ago=21)  # paid early
    silent = CustomerFactory(name="Silent GmbH", currency="EUR")
    dollar = CustomerFactory(name="Dollar Inc", currency="USD")
    paid_invoice(dollar, "10.00", due_days_ago=5, paid_days_ago=5)
    return {"demanding": demanding, "punctual": punctual, "silent": silent, "dollar": dollar}


def components_of(worth_it):
    return {c.name: (c.value, c.weight, c.points) for c in worth_it.components}


def test_demanding_customer_shows_every_component_with_weight_and_points(ledger):
    worth_it = worth_it_scores([ledger["demanding"].pk], today=TODAY)[ledger["demanding"].pk]

    assert components_of(worth_it) == {
        # 1000 is the most any of the 3 EUR customers paid: 3 of 3 paid no more -> 60 x 100%.
        "revenue": (Decimal("1000.00"), Decimal("60"), Decimal("60.0")),
        # 10 days late on all the money: 40 x (1 - 10/60) = 33.3.
        "punctuality": (Decimal("10.0"), Decimal("40"), Decimal("33.3")),
        "interactions": (2, Decimal("10"), Decimal("-0.8")),  # 10 x 2/24
        "minutes": (60, Decimal("10"), Decimal("-2.5")),  # 10 x 60/240
        "reminders": (1, Decimal("10"), Decimal("-0.8")),  # 10 x 1/12
        "broken_agreements": (1, Decimal("15"), Decimal("-5.0")),  # 15 x 1/3
        "excuses": (1, Decimal("10"), Decimal("-1.7")),  # 10 x 1/6
        "complaints": (1, Decimal("5"), Decimal("-1.3")),  # 5 x 1/4
        "rejected_complaints": (1, Decimal("15"), Decimal("-7.5")),  # 15 x 1/2
    }
    # 93.3 earned - 19.6 taken off = 73.7
    assert worth_it.score == 74
    assert worth_it.currency == "EUR"


def test_revenue_is_ranked_within_its_own_currency(ledger):
    scores = worth_it_scores([c.pk for c in ledger.values()], today=TODAY)

    # Punctual paid 500: 2 of 3 EUR customers paid no more -> 60 x 2/3 = 40; paid early -> all 40.
    assert components_of(scores[ledger["punctual"].pk])["revenue"][2] == Decimal("40.0")
    assert scores[ledger["punctual"].pk].score == 80
    # Silent paid nothing: no revenue points, half the punctuality points for lack of history.
    assert scores[ledger["silent"].pk].score == 20
    # 10 USD is the best of the USD customers, however small next to the euro amounts.
    assert components_of(scores[ledger["dollar"].pk])["revenue"][2] == Decimal("60.0")
    assert scores[ledger["dollar"].pk].score == 100


def test_credit_manager_weights_change_the_score(ledger):
    WorthItSettings.objects.create(revenue_weight=Decimal("0"), punctuality_weight=Decimal("50"))

    worth_it = worth_it_scores([ledger["punctual"].pk], today=TODAY)[ledger["punctual"].pk]

    assert components_of(worth_it)["revenue"] == (Decimal("500.00"), Decimal("0"), Decimal("0.0"))
    assert components_of(worth_it)["punctuality"][2] == Decimal("100.0")
    assert worth_it.score == 100


def test_score_stays_within_0_and_100_when_effort_outweighs_value(ledger):
    silent = ledger["silent"]
    ComplaintFactory.create_batch(
        3, customer=silent, opened_on=days_ago(9), resolved_on=days_ago(2), outcome="rejected"
    )
    AgreementFactory.create_batch(3, customer=silent, state="broken", closed_on=days_ago(3))

    assert worth_it_scores([silent.pk], today=TODAY)[silent.pk].score == 0


def test_moving_today_forward_drops_effort_older_than_12_months(ledger):
    later = TODAY + dt.timedelta(days=400)
    worth_it = worth_it_scores([ledger["demanding"].pk], today=later)[ledger["demanding"].pk]

    assert {name: value for name, (value, _, _) in components_of(worth_it).items()}["interactions"] == 0
    assert components_of(worth_it)["revenue"][0] == Decimal("0.00")


def test_unknown_ids_are_left_out_and_no_ids_cost_no_query(ledger, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert worth_it_scores([], today=TODAY) == {}
    assert worth_it_scores([ledger["silent"].pk, 999_999], today=TODAY).keys() == {ledger["silent"].pk}


def test_a_page_of_fifty_customers_costs_the_same_queries_as_one(ledger, django_assert_max_num_queries):
    many = CustomerFactory.create_batch(50, currency="EUR")
    for customer in many[:10]:
        paid_invoice(customer, "100.00", due_days_ago=50, paid_days_ago=45)
        InteractionFactory(customer=customer, occurred_at=at(3))

    with django_assert_max_num_queries(7):  # first call of the day rebuilds the revenue scale
        first = worth_it_scores([many[0].pk], today=TODAY)
    with django_assert_max_num_queries(5):
        one = worth_it_scores([many[0].pk], today=TODAY)
    with django_assert_max_num_queries(5):
        page = worth_it_scores([c.pk for c in many], today=TODAY)

    assert len(first) == len(one) == 1 and len(page) == 50
    assert first == one


def test_ranking_puts_the_best_first_and_filters_by_currency(ledger, django_assert_max_num_queries):
    with django_assert_max_num_queries(14):
        ranking = worth_it_ranking(today=TODAY, currency="EUR")

    assert [customer.name for customer, _ in ranking] == ["Punctual NV", "Demanding BV", "Silent GmbH"]
    worst = worth_it_ranking(today=TODAY, lowest_first=True, limit=1)
    assert [customer.name for customer, _ in worst] == ["Silent GmbH"]


def test_new_payments_rebuild_the_revenue_scale(ledger):
    punctual = ledger["punctual"]
    before = worth_it_scores([punctual.pk], today=TODAY)[punctual.pk]
    assert components_of(before)["revenue"][2] == Decimal("40.0")  # 2 of 3 EUR customers paid no more

    paid_invoice(ledger["silent"], "700.00", due_days_ago=10, paid_days_ago=10)
    after = worth_it_scores([punctual.pk], today=TODAY)[punctual.pk]

    assert components_of(after)["revenue"][2] == Decimal("20.0")  # now 1 of 3 paid no more than 500


def test_ranking_scores_agree_with_the_per_customer_scores(ledger):
    ranked = dict((customer.pk, worth_it) for customer, worth_it in worth_it_ranking(today=TODAY))

    assert ranked == worth_it_scores(list(ranked), today=TODAY)
