"""The kept worth-it scores: equal to the per-request computation, kept in step, checked, read ranked."""

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from calls.models import Interaction
from calls.selectors import filter_worklist, worklist
from customers.models import Customer
from customers.signals import announce_change
from dunning.services import ensure_standard_policy, run_dunning_batch
from invoices.models import Allocation
from invoices.services import allocate
from reports import scores
from reports.models import SETTING_FIELDS, WorthItScore, WorthItSettings
from reports.scores import (
    kept_ranking,
    kept_worth_it_scores,
    rebuild_worth_it_scores,
    refresh_worth_it_scores,
    worth_it_drift,
    worth_it_of,
)
from reports.services import update_worth_it_settings
from reports.tasks import rebuild_worth_it
from reports.worth_it import worth_it_ranking, worth_it_scores
from tests.calls.scenes import overdue_customer
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
    UserFactory,
)

pytestmark = pytest.mark.django_db


def day(rng: random.Random) -> dt.date:
    """A day in the 12-month window mostly, sometimes just outside it (older than a year)."""
    return TODAY - dt.timedelta(days=rng.randint(0, 420))


def paid(customer, rng: random.Random) -> None:
    amount = Decimal(rng.randint(1, 500_000)) / 100
    invoice = InvoiceFactory(customer=customer, amount=amount, due_date=day(rng), currency=customer.currency)
    payment = PaymentFactory(
        customer=customer, amount=amount, received_on=day(rng), currency=customer.currency
    )
    allocate(payment=payment, invoice=invoice, amount=amount)


def add_facts(customer, rng: random.Random) -> None:
    """A random handful of everything the score counts, for one customer."""
    for _ in range(rng.randint(0, 3)):
        paid(customer, rng)
    for _ in range(rng.randint(0, 4)):
        moment = dt.datetime.combine(day(rng), dt.time(10), tzinfo=dt.UTC)
        InteractionFactory(customer=customer, occurred_at=moment, minutes_spent=rng.randint(0, 90))
    for _ in range(rng.randint(0, 3)):
        ReminderFactory(customer=customer, run_on=day(rng))
    for _ in range(rng.randint(0, 2)):
        AgreementFactory(customer=customer, state="broken", closed_on=day(rng))
    for _ in range(rng.randint(0, 2)):
        ExcuseFactory(customer=customer, given_on=day(rng))
    for _ in range(rng.randint(0, 2)):
        opened = day(rng)
        outcome = rng.choice(["rejected", "upheld"])
        ComplaintFactory(customer=customer, opened_on=opened, resolved_on=opened, outcome=outcome)


def random_ledger(seed: int, customers: int = 10) -> list:
    rng = random.Random(seed)
    ledger = [CustomerFactory(currency=rng.choice(["EUR", "EUR", "USD"])) for _ in range(customers)]
    for customer in ledger:
        add_facts(customer, rng)
    return ledger


@pytest.mark.parametrize("seed", range(6))
def test_kept_scores_equal_the_per_request_scores_on_random_ledgers(seed):
    ledger = random_ledger(seed)
    ids = [customer.pk for customer in ledger]

    result = rebuild_worth_it_scores(today=TODAY)

    assert result.customers == len(ledger) == WorthItScore.objects.count()
    assert kept_worth_it_scores(ids, today=TODAY) == worth_it_scores(ids, today=TODAY)
    for lowest_first in (False, True):
        kept = [(row.customer.pk, row.score) for row in kept_ranking(lowest_first=lowest_first)]
        live = worth_it_ranking(today=TODAY, lowest_first=lowest_first)
        assert kept == [(customer.pk, worth_it.score) for customer, worth_it in live]


@pytest.mark.parametrize("seed", range(6))
def test_announced_changes_keep_every_score_equal_to_a_full_recomputation(seed):
    ledger = random_ledger(seed)
    rebuild_worth_it_scores(today=TODAY)
    rng = random.Random(1000 + seed)

    for _ in range(4):
        changed = rng.sample(ledger, 3)
        for customer in changed:
            add_facts(customer, rng)
        announce_change(customer_ids={c.pk for c in changed}, facts={"payments", "contacts", "reminders"})
        assert worth_it_drift(today=TODAY) == []
    newcomer = CustomerFactory(currency="EUR")
    paid(newcomer, rng)
    announce_change(customer_ids={newcomer.pk}, facts={"payments"})  # a new customer re-ranks its currency

    assert worth_it_drift(today=TODAY) == []


@pytest.mark.parametrize("seed", range(3))
def test_a_fact_other_than_money_rereads_only_its_source_and_keeps_the_scores_exact(seed):
    ledger = random_ledger(seed)
    rebuild_worth_it_scores(today=TODAY)
    rng = random.Random(2000 + seed)
    customer, other = rng.sample(ledger, 2)
    moment = dt.datetime.combine(TODAY, dt.time(9), tzinfo=dt.UTC)

    InteractionFactory(customer=customer, occurred_at=moment, minutes_spent=45)
    ExcuseFactory(customer=other, given_on=TODAY)
    ComplaintFactory(customer=other, opened_on=TODAY, resolved_on=TODAY, outcome="rejected")
    AgreementFactory(customer=customer, state="broken", closed_on=TODAY)
    # The receiver's own work (other apps' receivers of the same signal keep their own figures).
    with CaptureQueriesContext(connection) as context:
        refresh_worth_it_scores([customer.pk], today=TODAY, facts={"contacts", "agreements"})
    announce_change(customer_ids={other.pk}, facts={"excuses", "complaints"})

    grouped = [q["sql"] for q in context.captured_queries if "GROUP BY" in q["sql"]]
    assert len(grouped) == 2  # interactions and broken agreements, not payments or the rest
    assert worth_it_drift(today=TODAY) == []


def test_a_task_alone_changes_no_score():
    ledger = random_ledger(8, customers=3)
    rebuild_worth_it_scores(today=TODAY)

    with CaptureQueriesContext(connection) as context:
        refresh_worth_it_scores([ledger[0].pk], today=TODAY, facts={"tasks"})

    assert not context.captured_queries


def test_a_refresh_costs_the_same_queries_for_one_customer_or_many():
    ledger = random_ledger(7, customers=30)
    rebuild_worth_it_scores(today=TODAY)

    def queries(customers) -> int:
        with CaptureQueriesContext(connection) as context:
            refresh_worth_it_scores([c.pk for c in customers], today=TODAY)
        return len(context.captured_queries)

    # Nothing changed: no re-rank; the 13th finds which standings' copies of the score differ (none).
    assert queries(ledger[:1]) == queries(ledger) <= 13
    for customer in ledger:
        paid(customer, random.Random(customer.pk))
    assert queries(ledger[:1]) <= 16 and queries(ledger) <= 16  # revenues changed: the currency re-ranked


def paid_exactly(customer, amount: str) -> None:
    invoice = InvoiceFactory(customer=customer, amount=Decimal(amount), due_date=TODAY, currency="EUR")
    payment = PaymentFactory(customer=customer, amount=Decimal(amount), received_on=TODAY, currency="EUR")
    allocate(payment=payment, invoice=invoice, amount=Decimal(amount))


@pytest.mark.parametrize("change", ["up", "down"])
def test_a_changed_revenue_re_ranks_only_the_customers_it_passed_and_stays_exact(change, monkeypatch):
    customers = [CustomerFactory(currency="EUR") for _ in range(6)]
    for customer, revenue in zip(customers[:5], ["100", "200", "300", "400", "500"], strict=True):
        paid_exactly(customer, revenue)
    CustomerFactory(currency="USD")  # another currency, never read
    rebuild_worth_it_scores(today=TODAY)
    passed = []
    real = scores._passed_by

    def passed_and_noted(*args):
        rows = real(*args)
        passed.extend(rows)
        return rows

    monkeypatch.setattr(scores, "_passed_by", passed_and_noted)
    if change == "up":
        paid_exactly(customers[0], "250")  # allocate() announces it: 100 -> 350 passes 200 and 300
    else:
        Allocation.objects.filter(payment__customer=customers[4]).update(amount=Decimal("150"))
        announce_change(customer_ids={customers[4].pk}, facts={"payments"})  # 500 -> 150

    between = customers[1:3] if change == "up" else customers[1:4]
    assert {row[0] for row in passed} == {c.pk for c in between}  # none below or above
    assert worth_it_drift(today=TODAY) == []


def test_a_customer_added_without_a_score_makes_the_next_refresh_re_rank_everyone():
    customers = [CustomerFactory(currency="EUR") for _ in range(4)]
    for customer, revenue in zip(customers, ["100", "200", "300", "400"], strict=True):
        paid_exactly(customer, revenue)
    rebuild_worth_it_scores(today=TODAY)
    # Created behind the services (the factory announces its customers): every share's base moved.
    (newcomer,) = Customer.objects.bulk_create([Customer(account_number="NEW-1", name="New", currency="EUR")])

    paid_exactly(customers[0], "50")  # allocate() announces the payment

    drift = worth_it_drift(today=TODAY)  # only the newcomer's own row is missing: the others counted it
    assert len(drift) == 1 and drift[0].startswith(f"customer {newcomer.pk}: no kept score")


def test_nothing_is_kept_by_a_refresh_before_the_first_rebuild():
    customer = CustomerFactory()

    announce_change(customer_ids={customer.pk}, facts={"payments"})

    assert not WorthItScore.objects.exists()


def test_drift_is_reported_by_the_check_and_repaired_by_the_rebuild(capsys):
    ledger = random_ledger(3)
    call_command("rebuild_worth_it", today=TODAY)
    call_command("rebuild_worth_it", "--check", today=TODAY)
    assert "no drift" in capsys.readouterr().out

    WorthItScore.objects.filter(pk=ledger[0].pk).update(score=101)  # a row edited behind the services
    WorthItScore.objects.filter(pk=ledger[1].pk).delete()
    Interaction.objects.create(  # written behind the services: no signal
        customer=ledger[2],
        occurred_at=dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC),
        channel="phone",
        outcome="reached",
        minutes_spent=5,
    )

    with pytest.raises(CommandError, match="3 kept worth-it scores differ"):
        call_command("rebuild_worth_it", "--check", today=TODAY)
    errors = capsys.readouterr().err
    assert f"customer {ledger[0].pk}: score 101 !=" in errors
    assert f"customer {ledger[1].pk}: no kept score" in errors
    assert f"customer {ledger[2].pk}: " in errors and "interaction_count" in errors

    assert rebuild_worth_it_scores(today=TODAY).written == 3
    assert worth_it_drift(today=TODAY) == []
    assert rebuild_worth_it_scores(today=TODAY).written == 0  # a repeat writes nothing


def test_the_nightly_task_moves_every_score_to_the_new_day():
    ledger = random_ledger(4)
    rebuild_worth_it_scores(today=TODAY)
    tomorrow = TODAY + dt.timedelta(days=1)

    assert rebuild_worth_it(tomorrow.isoformat()) == len(ledger)

    assert set(WorthItScore.objects.values_list("as_of", flat=True)) == {tomorrow}
    assert worth_it_drift(today=tomorrow) == []


def test_new_weights_recompute_every_kept_score(credit_manager):
    ledger = random_ledger(5)
    rebuild_worth_it_scores(today=TODAY)

    update_worth_it_settings(
        actor=credit_manager, revenue_weight=Decimal("10"), interactions_weight=Decimal("40")
    )

    ids = [customer.pk for customer in ledger]
    assert kept_worth_it_scores(ids, today=TODAY) == worth_it_scores(ids, today=TODAY)
    assert worth_it_drift(today=TODAY) == []


def test_weights_saved_in_the_admin_recompute_every_kept_score_too(client, credit_manager):
    ledger = random_ledger(5)
    settings = update_worth_it_settings(actor=credit_manager, revenue_weight=Decimal("30"))
    rebuild_worth_it_scores(today=TODAY)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    form = {name: getattr(settings, name) for name in SETTING_FIELDS}

    answer = client.post(
        reverse("admin:reports_worthitsettings_change", args=[settings.pk]),
        {**form, "revenue_weight": "10", "interactions_weight": "40"},
    )

    assert answer.status_code == 302
    assert WorthItSettings.current().revenue_weight == Decimal("10")
    ids = [customer.pk for customer in ledger]
    assert kept_worth_it_scores(ids, today=TODAY) == worth_it_scores(ids, today=TODAY)
    assert worth_it_drift(today=TODAY) == []


def test_the_dunning_run_refreshes_the_scores_of_the_customers_it_reminded():
    ensure_standard_policy()
    reminded = overdue_customer(days_late=3, invoices=1)
    quiet = CustomerFactory()
    rebuild_worth_it_scores(today=TODAY)
    before = WorthItScore.objects.get(pk=reminded.pk)

    run_dunning_batch(customer_ids=[reminded.pk, quiet.pk], today=TODAY)

    after = WorthItScore.objects.get(pk=reminded.pk)
    assert (before.reminder_count, after.reminder_count) == (0, 1)
    assert after.effort_points < before.effort_points
    assert worth_it_drift(today=TODAY) == []


def ranking_queries(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries), response.content.decode()


def test_ranking_page_costs_the_same_queries_for_10_or_120_customers_and_shows_kept_scores(
    client, finance_lead
):
    client.force_login(finance_lead)
    random_ledger(11, customers=10)
    rebuild_worth_it_scores(today=TODAY)
    small, _ = ranking_queries(client, "/reports/worth-it/")
    random_ledger(12, customers=110)
    rebuild_worth_it_scores(today=TODAY)
    large, page = ranking_queries(client, "/reports/worth-it/?order=lowest&currency=EUR&page=2")

    assert small == large
    assert "Scores as of" in page
    second_page = kept_ranking(currency="EUR", lowest_first=True)[50:100]
    assert second_page and all(f'data-score="{row.score}"' in page for row in second_page)
    assert all(row.customer.account_number in page for row in second_page)


def test_ranking_page_reads_the_same_rows_as_it_computes(client, finance_lead):
    client.force_login(finance_lead)
    random_ledger(13, customers=25)
    past = (TODAY - dt.timedelta(days=1)).isoformat()
    computed = client.get("/reports/worth-it/").content.decode()  # nothing kept yet: computed
    rebuild_worth_it_scores(today=TODAY)
    kept = client.get("/reports/worth-it/").content.decode()

    table = slice(computed.index('data-testid="worth-it-ranking"'), computed.index("</table>"))
    kept_table = slice(kept.index('data-testid="worth-it-ranking"'), kept.index("</table>"))
    assert computed[table] == kept[kept_table]
    assert "Scores as of" not in computed and "Scores as of" in kept
    assert "Scores as of" not in client.get(f"/reports/worth-it/?as_of={past}").content.decode()


def test_kept_rows_give_every_component_without_a_query():
    ledger = random_ledger(14, customers=5)
    rebuild_worth_it_scores(today=TODAY)
    rows = list(kept_ranking())
    weights = WorthItSettings.current()

    with CaptureQueriesContext(connection) as context:
        scores = {row.pk: worth_it_of(row, weights) for row in rows}

    assert not context.captured_queries
    assert scores == worth_it_scores([c.pk for c in ledger], today=TODAY)


class TestWorklist:
    @pytest.fixture
    def customers(self, collector):
        """Three overdue customers with kept scores 80, 20 and 50, and one not scored yet."""
        scored = [
            overdue_customer(collector, name=name)
            for name in ("Alpha Worthy", "Omega Costly", "Middle Ground")
        ]
        rebuild_worth_it_scores(today=TODAY)
        for customer, score in zip(scored, (80, 20, 50), strict=True):
            WorthItScore.objects.filter(pk=customer.pk).update(score=score)
        unscored = overdue_customer(collector, name="Newcomer Ltd")
        WorthItScore.objects.filter(pk=unscored.pk).delete()  # one the nightly rebuild has not reached yet
        # Written around the services above: copy them onto the worklist's standings, as a rebuild would.
        from calls.standing import rebuild_all

        rebuild_all(as_of=TODAY)
        return scored + [unscored]

    def names(self, user, **criteria) -> list[str]:
        rows = filter_worklist(worklist(user=user, today=TODAY), criteria=criteria, today=TODAY)
        return [customer.name for customer in rows]

    def test_sort_by_worth_it_puts_the_best_first_and_the_unscored_last(self, customers, collector):
        assert self.names(collector, sort="worth_it") == [
            "Alpha Worthy",
            "Middle Ground",
            "Omega Costly",
            "Newcomer Ltd",
        ]

    def test_filter_by_a_worth_it_range(self, customers, collector):
        assert self.names(collector, min_worth_it=50, sort="worth_it") == ["Alpha Worthy", "Middle Ground"]
        assert self.names(collector, max_worth_it=50, sort="worth_it") == ["Middle Ground", "Omega Costly"]
        assert self.names(collector, min_worth_it=21, max_worth_it=79) == ["Middle Ground"]

    def test_the_worklist_page_sorts_filters_and_checks_the_range(
        self, customers, client, collector, settings
    ):
        settings.CREDITDESK_TODAY = TODAY
        client.force_login(collector)
        url = reverse("calls:worklist")

        page = client.get(url, {"sort": "worth_it", "max_worth_it": 60}).content.decode()
        assert page.index("Middle Ground") < page.index("Omega Costly") and "Alpha Worthy" not in page
        wrong = client.get(url, {"min_worth_it": 70, "max_worth_it": 10}).content.decode()
        assert "Pick a maximum no lower than the minimum." in wrong


def test_seed_demo_leaves_every_score_built_for_its_day():
    call_command("seed_demo", "--customers=20", "--seed=3", f"--today={TODAY}", verbosity=0)

    assert WorthItScore.objects.count() == 20
    assert set(WorthItScore.objects.values_list("as_of", flat=True)) == {TODAY}
    assert worth_it_drift(today=TODAY) == []
