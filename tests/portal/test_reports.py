"""The reports' portal section: shares through the portal, days from reminder to answer, portal vs phone."""

import datetime as dt

import pytest
from django.utils import timezone

from reports.self_service import days_to_answer, portal_share
from tests.factories import (
    TODAY,
    AgreementFactory,
    ComplaintFactory,
    CustomerFactory,
    InteractionFactory,
    ReminderFactory,
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
