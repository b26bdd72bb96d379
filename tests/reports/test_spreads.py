"""The forecast's kept spreads (reports/spreads.py): each customer's weeks, read only when every row is of
the forecast's day, the same figures as spreading live in every scope, and kept in step by the writes."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings

from agreements.services import InstalmentTerms, create_agreement
from customers.models import Customer
from customers.signals import announce_change
from invoices.models import Invoice
from invoices.services import allocate
from reports import spreads, tasks
from reports.forecast import forecast, kept_spreads
from reports.ledger import LedgerScope
from reports.models import ForecastSpread
from reports.spreads import refresh_spreads, spread_drift
from tests.factories import TODAY, ComplaintFactory, InvoiceFactory, PaymentFactory
from tests.reports.test_forecast_property import add_agreement_and_dispute, extras
from tests.reports.test_lateness import (
    figures,
    ledger,  # noqa: F401 (the fixture the tests below take)
)
from tests.reports.test_ledger_property import build_ledger, invoice_rows

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


def live(scope=None) -> list:
    """The forecast spread live: the kept rows put aside for the reading, then restored."""
    with transaction.atomic():
        ForecastSpread.objects.all().delete()
        made = figures(forecast(as_of=TODAY, scope=scope))
        transaction.set_rollback(True)
    return made


def test_the_writes_keep_every_customers_spread_and_the_forecast_reads_them(ledger):  # noqa: F811 (the imported fixture)
    steady, slow, new = ledger

    # The factories announced every row as the services do: each customer is kept as of today.
    assert kept_spreads(TODAY, LedgerScope()) is not None
    assert spread_drift(as_of=TODAY) == []
    own = ForecastSpread.objects.filter(week=0)
    assert own.get(customer=steady).expected == 0 and own.get(customer=slow).expected == 0
    # Too little history of its own: spread live by its segment in the scope, never kept.
    assert own.get(customer=new).expected is None
    assert not ForecastSpread.objects.filter(customer=new, expected__isnull=False).exists()

    scopes = [None, LedgerScope(segment_id=steady.segment_id), LedgerScope(currency=steady.currency)]
    scopes.append(LedgerScope(collector_id=steady.collector_id))
    for scope in scopes:
        kept = figures(forecast(as_of=TODAY, scope=scope))
        assert kept == live(scope)
    assert any(week[0] for made in kept for week in made[2])


def test_spreads_of_another_day_are_not_read(ledger):  # noqa: F811 (the imported fixture)
    refresh_spreads(as_of=TODAY - DAY)
    assert kept_spreads(TODAY, LedgerScope()) is None

    refresh_spreads([ledger[0].pk], as_of=TODAY)  # a write before the night's rebuild: live again
    assert kept_spreads(TODAY, LedgerScope()) is None
    refresh_spreads(as_of=TODAY)
    assert kept_spreads(TODAY, LedgerScope()) is not None


def test_payments_invoices_agreements_and_disputes_refresh_the_spread(ledger, collector):  # noqa: F811 (the imported fixture)
    steady, slow, _ = ledger
    invoice = InvoiceFactory(customer=steady, due_date=TODAY + 20 * DAY, amount=Decimal("700.00"))
    assert spread_drift(as_of=TODAY) == []
    week = ForecastSpread.objects.get(customer=steady, week=0)

    payment = PaymentFactory(customer=steady, amount=Decimal("300.00"), received_on=TODAY)
    allocate(payment=payment, invoice=invoice, amount=Decimal("300.00"))
    assert spread_drift(as_of=TODAY) == []
    assert ForecastSpread.objects.get(customer=steady, week=0).naive == week.naive - Decimal("300.00")

    promised = slow.invoices.filter(due_date__gt=TODAY).first()
    create_agreement(
        customer=slow, kind="promise", instalments=[InstalmentTerms(TODAY + 10 * DAY, promised.amount)],
        invoices=[promised], made_on=TODAY, made_by=collector,
    )  # fmt: skip
    complaint = ComplaintFactory(customer=steady)
    complaint.invoices.add(invoice)
    assert spread_drift(as_of=TODAY) == []
    assert figures(forecast(as_of=TODAY)) == live()


def test_the_command_rebuilds_and_reports_spread_drift(ledger):  # noqa: F811 (the imported fixture)
    call_command("rebuild_lateness", today=TODAY)
    call_command("rebuild_lateness", check=True, today=TODAY)
    row = ForecastSpread.objects.filter(customer=ledger[1], week__gt=0).first()
    row.naive += 1
    row.save()

    with pytest.raises(CommandError, match="1 customers' forecast spreads differ"):
        call_command("rebuild_lateness", check=True, today=TODAY)
    call_command("rebuild_lateness", today=TODAY)
    assert spread_drift(as_of=TODAY) == []


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=invoice_rows, extra=extras)
def test_on_any_ledger_the_kept_spreads_are_a_full_recomputation_and_read_the_same(rows, extra):
    with transaction.atomic():  # each example on its own ledger
        build_ledger(rows)  # rows written directly: announced as the services do
        announce_change(customer_ids=set(Customer.objects.values_list("pk", flat=True)), facts={"invoices"})
        add_agreement_and_dispute(extra, TODAY)

        assert spread_drift(as_of=TODAY) == []
        if ForecastSpread.objects.exists():
            assert kept_spreads(TODAY, LedgerScope()) is not None
        assert figures(forecast(as_of=TODAY)) == live()
        transaction.set_rollback(True)


def test_a_bulk_write_marks_the_spreads_stale_and_a_worker_keeps_them_again(
    ledger,  # noqa: F811 (the imported fixture)
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    steady, slow, _ = ledger
    monkeypatch.setattr(spreads, "BULK_CUSTOMERS", 1)
    queued = []
    monkeypatch.setattr(tasks.rebuild_spreads, "delay", lambda **kwargs: queued.append(kwargs))
    with django_capture_on_commit_callbacks(execute=True):
        for customer in (steady, slow):  # written without announcing, as an import's rows are
            Invoice.objects.create(
                customer=customer, number=f"BULK-{customer.pk}", issue_date=TODAY, amount=Decimal("90.00"),
                due_date=TODAY + 9 * DAY, currency=customer.currency,
            )  # fmt: skip
        announce_change(customer_ids={steady.pk, slow.pk}, facts={"new_invoices"}, earliest_day=TODAY)

    # Until the worker has run, the forecast spreads live: never short of the new invoices.
    assert kept_spreads(TODAY, LedgerScope()) is None
    assert figures(forecast(as_of=TODAY)) == live()
    assert queued == [{"customer_ids": sorted([steady.pk, slow.pk]), "today": TODAY.isoformat()}]

    tasks.rebuild_spreads(**queued[0])
    assert kept_spreads(TODAY, LedgerScope()) is not None
    assert spread_drift(as_of=TODAY) == []
