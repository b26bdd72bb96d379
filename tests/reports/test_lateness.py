"""The forecast's kept days-late bins (reports/lateness.py): the forecast reads them only when they are
of its day, gives the same figures as computing them live, and they follow every payment."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from invoices.services import allocate
from reports.forecast import forecast
from reports.lateness import kept_bins, lateness_drift, refresh_lateness
from reports.ledger import LedgerScope
from reports.models import LatenessBin
from tests.factories import TODAY, CustomerFactory, InvoiceFactory, PaymentFactory, SegmentFactory
from tests.reports.test_forecast import history, paid_invoice

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


@pytest.fixture
def ledger():
    segment = SegmentFactory()
    steady = CustomerFactory(segment=segment)
    history(steady, late_days=20)
    slow = CustomerFactory(segment=segment)
    history(slow, late_days=45, count=7)
    new = CustomerFactory(segment=segment)  # too little history: the segment's distribution
    paid_invoice(new, due=TODAY - 50 * DAY, late_days=3)
    for customer, due in ((steady, 3), (steady, -10), (slow, 12), (slow, -30), (new, 5)):
        InvoiceFactory(customer=customer, due_date=TODAY + due * DAY, amount=Decimal("1234.56"))
    return steady, slow, new


def figures(made) -> list:
    return [
        (f.currency, f.open_amount, [(w.expected, w.low, w.high, w.naive) for w in f.weeks]) for f in made
    ]


def test_the_forecast_from_kept_bins_equals_the_live_one(ledger):
    live = figures(forecast(as_of=TODAY))
    assert any(w[0] for f in live for w in f[2])

    kept = refresh_lateness(as_of=TODAY)

    assert kept == LatenessBin.objects.count() > 0
    assert kept_bins(TODAY, LedgerScope()) is not None
    assert figures(forecast(as_of=TODAY)) == live
    segment = ledger[0].segment_id
    assert figures(forecast(as_of=TODAY, scope=LedgerScope(segment_id=segment))) == live


def test_bins_of_another_day_are_not_read(ledger):
    refresh_lateness(as_of=TODAY - DAY)

    assert kept_bins(TODAY, LedgerScope()) is None
    assert kept_bins(TODAY - DAY, LedgerScope()) is not None
    # Half the table rewritten for today (a payment's refresh before the night's rebuild): live again.
    refresh_lateness([ledger[0].pk], as_of=TODAY)
    assert kept_bins(TODAY, LedgerScope()) is None


def test_a_payment_refreshes_its_customers_bins(ledger):
    steady, _, _ = ledger
    refresh_lateness(as_of=TODAY)
    invoice = InvoiceFactory(customer=steady, due_date=TODAY - 40 * DAY, amount=Decimal("500.00"))
    payment = PaymentFactory(customer=steady, amount=Decimal("500.00"), received_on=TODAY)

    allocate(payment=payment, invoice=invoice, amount=Decimal("500.00"))

    assert lateness_drift(as_of=TODAY) == []
    assert LatenessBin.objects.get(customer=steady, bin=40 // 7).paid == 1


def test_the_command_rebuilds_and_reports_drift(ledger):
    call_command("rebuild_lateness", today=TODAY)
    call_command("rebuild_lateness", check=True, today=TODAY)
    row = LatenessBin.objects.filter(customer=ledger[1]).first()
    row.amount += 1
    row.save()

    with pytest.raises(CommandError, match="1 customers"):
        call_command("rebuild_lateness", check=True, today=TODAY)
    call_command("rebuild_lateness", today=TODAY)
    assert lateness_drift(as_of=TODAY) == []
