"""The backtest's kept forecasts (KeptForecast): read back they are the very figures computed, and a
back-dated write forgets those it can have moved, so a warm backtest always equals a cold one."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.models import Customer
from invoices.services import AllocationRequest, record_payment
from reports import backtest as backtest_module
from reports.backtest import backtest, week_ends
from reports.forecast import forecast
from reports.ledger import LedgerScope
from reports.models import KeptForecast
from tests.conftest import need_service
from tests.factories import TODAY, CustomerFactory, InvoiceFactory, SegmentFactory, UserFactory
from tests.reports.test_forecast import history, paid_invoice
from tests.reports.test_ledger_property import build_ledger, invoice_rows

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)
ORIGINS = 4


def figures(results) -> list:
    return [
        (r.currency, [(o.as_of, o.forecast, o.naive, o.actual) for o in r.origins], r.wape, r.naive_wape)
        for r in results
    ]


def pay(customer, invoice, *, received_on: dt.date) -> None:
    """The whole invoice paid through the service, which announces the payment's day."""
    record_payment(
        customer=customer,
        reference=f"PAY-{invoice.number}",
        received_on=received_on,
        amount=invoice.amount,
        currency=invoice.currency,
        allocations=[AllocationRequest(invoice_number=invoice.number, amount=invoice.amount)],
    )


def a_ledger():
    """Two customers paying 20 and 3 days late, with invoices open over the backtest's weeks."""
    late, prompt = CustomerFactory(), CustomerFactory(segment=SegmentFactory())
    history(late, late_days=20, count=8)
    history(prompt, late_days=3, count=8)
    paid_invoice(late, due=TODAY - 63 * DAY, late_days=20, amount="500.00")
    for weeks_ago in (2, 4, 6):
        InvoiceFactory(customer=prompt, due_date=TODAY - weeks_ago * 7 * DAY, amount=Decimal("300.00"))
        InvoiceFactory(customer=late, due_date=TODAY - weeks_ago * 7 * DAY + 2 * DAY)
    return late, prompt


def test_a_warm_backtest_reads_every_week_end_kept_and_equals_the_plain_one():
    a_ledger()
    plain = figures(backtest(as_of=TODAY, origins=ORIGINS, keep=False))
    assert not KeptForecast.objects.exists()  # keep=False keeps nothing

    cold = figures(backtest(as_of=TODAY, origins=ORIGINS))
    assert sorted(KeptForecast.objects.values_list("as_of", flat=True)) == week_ends(TODAY, ORIGINS)
    with CaptureQueriesContext(connection) as warm_queries:
        warm = figures(backtest(as_of=TODAY, origins=ORIGINS))

    assert cold == plain and warm == plain
    assert any(Decimal("0") < f for _, origins, *_ in plain for o in origins for f in o[1])
    # Receipts, the grouping, the kept forecasts: no forecast made again.
    assert len(warm_queries) == 3


def test_a_back_dated_payment_forgets_the_forecasts_from_its_day_on():
    late, _ = a_ledger()
    days = week_ends(TODAY, ORIGINS)
    open_invoice = InvoiceFactory(customer=late, due_date=days[0] - 30 * DAY, amount=Decimal("800.00"))
    backtest(as_of=TODAY, origins=ORIGINS)
    assert KeptForecast.objects.count() == ORIGINS

    received_on = days[1] - DAY  # between the first and the second week-end
    pay(late, open_invoice, received_on=received_on)

    assert sorted(KeptForecast.objects.values_list("as_of", flat=True)) == days[:1]
    assert figures(backtest(as_of=TODAY, origins=ORIGINS)) == figures(
        backtest(as_of=TODAY, origins=ORIGINS, keep=False)
    )
    assert KeptForecast.objects.count() == ORIGINS


def test_a_rolled_back_write_keeps_them():
    late, _ = a_ledger()
    invoice = InvoiceFactory(customer=late, due_date=TODAY - 100 * DAY, amount=Decimal("10.00"))
    backtest(as_of=TODAY, origins=ORIGINS)
    with pytest.raises(RuntimeError), transaction.atomic():
        pay(late, invoice, received_on=TODAY - 90 * DAY)
        raise RuntimeError
    assert KeptForecast.objects.count() == ORIGINS


def test_moving_a_customer_to_another_segment_makes_them_again():
    """A move announces no day (and the forecast reads segments as they are now): the kept forecasts
    are of one grouping, and another one computes them again."""
    slow, fast = SegmentFactory(), SegmentFactory()
    history(CustomerFactory(segment=slow), late_days=40, count=6)
    history(CustomerFactory(segment=fast), late_days=2, count=6)
    newcomer = CustomerFactory(segment=slow)  # too few paid to have its own: its segment's
    for weeks_ago in range(1, 8):
        InvoiceFactory(customer=newcomer, due_date=TODAY - weeks_ago * 7 * DAY, amount=Decimal("400.00"))
    before = figures(backtest(as_of=TODAY, origins=ORIGINS))
    Customer.objects.filter(pk=newcomer.pk).update(segment=fast)

    after = figures(backtest(as_of=TODAY, origins=ORIGINS))
    assert after == figures(backtest(as_of=TODAY, origins=ORIGINS, keep=False))
    assert after != before
    assert KeptForecast.objects.count() == 2 * ORIGINS


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=invoice_rows, back_days=st.integers(min_value=1, max_value=60))
def test_kept_then_corrected_equals_plain_on_random_ledgers(rows, back_days):
    with transaction.atomic():  # each example on its own ledger
        build_ledger(rows)  # (made directly: announces nothing)
        customer = Customer.objects.order_by("pk").first()
        invoice = InvoiceFactory(customer=customer, due_date=TODAY - 200 * DAY, amount=Decimal("5.00"))
        backtest(as_of=TODAY, origins=3)
        pay(customer, invoice, received_on=TODAY - back_days * DAY)
        warm = figures(backtest(as_of=TODAY, origins=3))
        assert warm == figures(backtest(as_of=TODAY, origins=3, keep=False))
        transaction.set_rollback(True)


@pytest.fixture
def made_in(monkeypatch) -> set[str]:
    """The names of the threads the backtest's forecasts are made on, as they are made."""
    names: set[str] = set()

    def recorded(**arguments):
        names.add(threading.current_thread().name)
        return forecast(**arguments)

    monkeypatch.setattr(backtest_module, "forecast", recorded)
    return names


@pytest.mark.django_db(transaction=True)  # the forecasts' own connections see only committed rows
def test_a_cold_backtest_makes_its_forecasts_side_by_side_with_the_same_figures(settings, made_in):
    need_service(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    a_ledger()
    settings.REPORTS_BACKTEST_CONNECTIONS = 1
    one_by_one = figures(backtest(as_of=TODAY, origins=ORIGINS, keep=False))
    made_in.clear()
    settings.REPORTS_BACKTEST_CONNECTIONS = 2
    assert figures(backtest(as_of=TODAY, origins=ORIGINS)) == one_by_one
    assert made_in and all(name.startswith("backtest") for name in made_in)
    assert KeptForecast.objects.count() == ORIGINS


def test_inside_a_transaction_the_forecasts_are_made_one_after_the_other(settings, made_in):
    a_ledger()
    settings.REPORTS_BACKTEST_CONNECTIONS = 2
    backtest(as_of=TODAY, origins=ORIGINS, keep=False)
    assert made_in == {threading.current_thread().name}  # other connections could not see these rows


def test_moving_a_customer_to_another_collector_keeps_all_but_the_collectors_forecasts():
    """Reassigning a portfolio moves nothing a forecast over every customer or a segment reads."""
    late, _ = a_ledger()
    anna, ben = UserFactory(), UserFactory()
    Customer.objects.filter(pk=late.pk).update(collector=anna)
    everyone, annas = LedgerScope(), LedgerScope(collector_id=anna.pk)
    before = figures(backtest(as_of=TODAY, origins=ORIGINS, scope=everyone))
    backtest(as_of=TODAY, origins=ORIGINS, scope=annas)
    Customer.objects.filter(pk=late.pk).update(collector=ben)

    with CaptureQueriesContext(connection) as queries:
        assert figures(backtest(as_of=TODAY, origins=ORIGINS, scope=everyone)) == before
    assert len(queries) == 3  # receipts, the grouping, the kept forecasts: none made again
    after = figures(backtest(as_of=TODAY, origins=ORIGINS, scope=annas))
    assert after == figures(backtest(as_of=TODAY, origins=ORIGINS, scope=annas, keep=False))
    assert KeptForecast.objects.count() == 3 * ORIGINS  # everyone's, and Anna's before and after the move
