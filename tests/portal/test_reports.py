"""The reports' portal section: shares through the portal, days from reminder to answer, portal vs phone."""

import datetime as dt
import random

import pytest
from django.utils import timezone

from calls.models import Interaction
from dunning.models import Reminder
from reports import channels
from reports.models import PortalAnswerDaySnapshot, PortalAnswerSnapshot
from reports.self_service import NOT_AN_ANSWER, days_to_answer, portal_share
from tests.factories import (
    TODAY,
    AgreementFactory,
    ComplaintFactory,
    CustomerFactory,
    InteractionFactory,
    ReminderFactory,
    StepFactory,
)

pytestmark = pytest.mark.django_db


def at(day: dt.date):
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


def test_shares_and_days_to_answer_split_portal_from_phone(client, finance_lead):
    portal_customer, phone_customer = CustomerFactory(), CustomerFactory()
    reminder = ReminderFactory(customer=portal_customer, run_on=TODAY - dt.timedelta(days=10))
    ReminderFactory(customer=phone_customer, step=reminder.step, run_on=TODAY - dt.timedelta(days=10))
    portal_answer = InteractionFactory(
        customer=portal_customer, channel="portal", direction="inbound", outcome="dispute",
        occurred_at=at(TODAY - dt.timedelta(days=8)),
    )  # fmt: skip
    ComplaintFactory(customer=portal_customer, interaction=portal_answer)
    ComplaintFactory(customer=phone_customer)
    promise = AgreementFactory(customer=portal_customer)
    InteractionFactory(
        customer=portal_customer, channel="portal", direction="inbound", outcome="promise", agreement=promise,
        occurred_at=at(TODAY - dt.timedelta(days=6)),
    )  # fmt: skip
    InteractionFactory(customer=phone_customer, channel="phone", outcome="reached", occurred_at=at(TODAY))
    InteractionFactory(customer=phone_customer, channel="phone", outcome="no_answer", occurred_at=at(TODAY))

    shares = {row["what"]: row for row in portal_share(as_of=TODAY)}
    assert (shares["Disputes"]["total"], shares["Disputes"]["portal"], shares["Disputes"]["share"]) == (
        2,
        1,
        50.0,
    )
    assert shares["Promises to pay"]["share"] == 100.0 and shares["Payment plans"]["share"] is None
    days = {row["channel"]: row for row in days_to_answer(as_of=TODAY)}
    assert days["portal"] == {"channel": "portal", "answers": 2, "average_days": 3.0}  # 2 and 4 days
    assert days["phone"] == {"channel": "phone", "answers": 1, "average_days": 10.0}

    client.force_login(finance_lead)
    section = client.get(f"/reports/section/portal/?as_of={TODAY}").content.decode()
    assert "Self-service portal" in section or "Through the portal" in section
    assert "50.0%" in section


def _plain_days_to_answer(as_of: dt.date) -> dict:
    """The definition read in Python: each answer's latest reminder on or before its local day."""
    reminded = {}
    for reminder in Reminder.objects.all():
        reminded.setdefault(reminder.customer_id, []).append(reminder.run_on)
    days: dict[str, list[int]] = {}
    for answer in Interaction.objects.filter(channel__in=("portal", "phone")):
        answered_on = timezone.localtime(answer.occurred_at).date()
        if answer.outcome in NOT_AN_ANSWER or not (as_of - dt.timedelta(days=365) < answered_on <= as_of):
            continue
        before = [day for day in reminded.get(answer.customer_id, []) if day <= answered_on]
        if before:
            days.setdefault(answer.channel, []).append((answered_on - max(before)).days)
    return {
        channel: {
            "channel": channel,
            "answers": len(found),
            "average_days": round(sum(found) / len(found), 1),
        }
        for channel, found in days.items()
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_days_to_answer_equals_the_plain_reading_of_its_definition(seed):
    rng = random.Random(seed)
    customers = [CustomerFactory() for _ in range(4)]
    steps = [StepFactory() for _ in range(3)]
    for customer in customers:
        for step in rng.sample(steps, rng.randint(0, 3)):
            ReminderFactory(
                customer=customer, step=step, run_on=TODAY - dt.timedelta(days=rng.randint(0, 400))
            )
    for _ in range(30):
        # Late evening and just after midnight too: the window and the answer's day are local days.
        moment = dt.datetime.combine(
            TODAY - dt.timedelta(days=rng.randint(-2, 380)),
            rng.choice([dt.time(0, 5), dt.time(12), dt.time(23, 55)]),
        )
        InteractionFactory(
            customer=rng.choice(customers),
            channel=rng.choice(["portal", "phone", "email"]),
            outcome=rng.choice(["reached", "promise", "no_answer", "voicemail", "dispute"]),
            occurred_at=timezone.make_aware(moment),
        )

    for as_of in (TODAY, TODAY - dt.timedelta(days=40)):
        found = {row["channel"]: row for row in days_to_answer(as_of=as_of)}
        assert found == _plain_days_to_answer(as_of)


def _answers_ledger(seed: int) -> None:
    rng = random.Random(seed)
    customers = [CustomerFactory() for _ in range(4)]
    steps = [StepFactory() for _ in range(3)]
    for customer in customers:
        for step in rng.sample(steps, rng.randint(1, 3)):
            for _ in range(3):
                day = TODAY - dt.timedelta(days=rng.randint(0, 420))
                ReminderFactory(customer=customer, step=step, run_on=day)
    for _ in range(40):
        moment = dt.datetime.combine(
            TODAY - dt.timedelta(days=rng.randint(0, 420)), rng.choice([dt.time(0, 5), dt.time(23, 55)])
        )
        InteractionFactory(
            customer=rng.choice(customers), channel=rng.choice(["portal", "phone"]),
            outcome=rng.choice(["reached", "promise", "no_answer"]), occurred_at=timezone.make_aware(moment),
        )  # fmt: skip


@pytest.mark.parametrize("seed", [4, 5])
def test_kept_months_give_the_same_days_to_answer_as_the_plain_reading(seed):
    _answers_ledger(seed)
    channels.refresh(today=TODAY)

    assert PortalAnswerSnapshot.objects.exists()
    assert channels.drift() == []
    for as_of in (TODAY, dt.date(2026, 10, 31), dt.date(2026, 6, 15)):
        found = {row["channel"]: row for row in days_to_answer(as_of=as_of)}
        assert found == _plain_days_to_answer(as_of), as_of


def test_a_new_answer_in_a_kept_month_reads_live_until_refilled():
    _answers_ledger(6)
    channels.refresh(today=TODAY)
    customer = Reminder.objects.first().customer
    InteractionFactory(
        customer=customer, channel="portal", outcome="promise", occurred_at=at(dt.date(2026, 8, 20))
    )  # announces the contact: the months from August on are stale

    as_of = dt.date(2026, 10, 31)
    assert {row["channel"]: row for row in days_to_answer(as_of=as_of)} == _plain_days_to_answer(as_of)
    channels.refresh(today=TODAY)
    assert channels.drift() == []
    assert {row["channel"]: row for row in days_to_answer(as_of=as_of)} == _plain_days_to_answer(as_of)


def test_the_channel_check_finds_a_kept_answer_month_that_differs():
    _answers_ledger(7)
    channels.refresh(today=TODAY)
    kept = PortalAnswerSnapshot.objects.order_by("month").first()
    PortalAnswerSnapshot.objects.filter(pk=kept.pk).update(days=kept.days + 1)
    assert channels.drift() == [kept.month]


def test_days_to_answer_reads_at_most_three_queries(django_assert_max_num_queries):
    _answers_ledger(8)
    channels.refresh(today=TODAY)
    channels.refresh_days(today=TODAY)
    for as_of in (TODAY, dt.date(2026, 10, 31)):
        with django_assert_max_num_queries(3):
            days_to_answer(as_of=as_of)


def test_an_accepted_portal_plan_and_a_promise_each_count_once(
    client, token, customer, invoices, credit_manager
):
    """A plan accepted from the portal is linked to its portal interaction twice over (the proposal's
    interaction, and the interaction's agreement): the shares join both and must still count it once."""
    from calls.models import PlanProposal
    from calls.services import decide_plan_proposal
    from tests.portal.conftest import url

    data = {"plan-submission": "s1", "plan-invoices": [invoices[0].pk], "plan-date_1": "2026-12-01",
            "plan-amount_1": "50", "plan-date_2": "2026-12-15", "plan-amount_2": "50"}  # fmt: skip
    assert client.post(url(token, "answer/plan/"), data).status_code == 302
    proposal = PlanProposal.objects.get()
    decide_plan_proposal(proposal=proposal, accept=True, user=credit_manager, today=TODAY)
    promise = {"promise-submission": "s2", "promise-invoices": [invoices[1].pk],
               "promise-pay_on": (TODAY + dt.timedelta(days=5)).isoformat()}  # fmt: skip
    assert client.post(url(token, "answer/promise/"), promise).status_code == 302
    phone = AgreementFactory(customer=customer)
    InteractionFactory(customer=customer, channel="phone", outcome="promise", agreement=phone)
    AgreementFactory(customer=customer, kind="plan")  # made without any interaction

    shares = {row["what"]: (row["total"], row["portal"]) for row in portal_share(as_of=TODAY)}
    assert shares["Payment plans"] == (2, 1)
    assert shares["Promises to pay"] == (2, 1)


@pytest.mark.parametrize("seed", [9, 10])
def test_kept_days_give_the_same_days_to_answer_as_the_plain_reading(seed):
    _answers_ledger(seed)
    channels.refresh(today=TODAY)
    channels.refresh_days(today=TODAY)
    assert PortalAnswerDaySnapshot.objects.exists()
    assert channels.drift() == []
    for as_of in (TODAY, dt.date(2026, 11, 5), dt.date(2026, 10, 31)):
        found = {row["channel"]: row for row in days_to_answer(as_of=as_of)}
        assert found == _plain_days_to_answer(as_of), as_of
    # The months gone stale (a back-dated write), the previous month's days serve it.
    from reports.models import ChannelMonth

    ChannelMonth.objects.update(stale=True)
    assert {row["channel"]: row for row in days_to_answer(as_of=TODAY)} == _plain_days_to_answer(TODAY)


def test_a_kept_answer_day_is_read_and_checked():
    _answers_ledger(11)
    channels.refresh(today=TODAY)
    channels.refresh_days(today=TODAY)
    before = {row["channel"]: row for row in days_to_answer(as_of=TODAY)}
    kept = PortalAnswerDaySnapshot.objects.filter(day__gte=dt.date(2026, 11, 1)).order_by("day").first()
    PortalAnswerDaySnapshot.objects.filter(pk=kept.pk).update(answers=kept.answers + 1000)
    after = {row["channel"]: row for row in days_to_answer(as_of=TODAY)}
    assert after[kept.channel]["answers"] == before[kept.channel]["answers"] + 1000
    assert channels.drift() == [kept.day]
