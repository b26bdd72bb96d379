"""On random ledgers: the forecast never expects more than is open, and the backtest's actual receipts
are the payments received in each week."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreements.models import Agreement, Instalment
from calls.models import Complaint
from invoices.models import Invoice, Payment
from reports.backtest import backtest
from reports.forecast import forecast
from reports.selectors import ledger_figures
from tests.factories import TODAY
from tests.reports.test_ledger_property import build_ledger, invoice_rows

pytestmark = pytest.mark.django_db

extras = st.fixed_dictionaries(
    {
        "as_of_days_ago": st.integers(min_value=0, max_value=200),
        "agreement_on": st.one_of(st.none(), st.integers(min_value=0, max_value=13)),
        "instalments": st.lists(
            st.tuples(st.integers(min_value=-5, max_value=100), st.integers(min_value=1, max_value=900_000)),
            max_size=3,
        ),
        "dispute_on": st.one_of(st.none(), st.integers(min_value=0, max_value=13)),
        "dispute_resolved": st.sampled_from(["", "upheld", "rejected"]),
    }
)


def add_agreement_and_dispute(extra, as_of):
    invoices = list(Invoice.objects.order_by("pk"))
    if extra["agreement_on"] is not None and extra["agreement_on"] < len(invoices) and extra["instalments"]:
        invoice = invoices[extra["agreement_on"]]
        amounts = [(days, Decimal(cents) / 100) for days, cents in extra["instalments"]]
        agreement = Agreement.objects.create(
            customer=invoice.customer,
            kind="plan",
            currency=invoice.currency,
            total_amount=sum(amount for _, amount in amounts),
            made_on=as_of - dt.timedelta(days=3),
        )
        agreement.invoices.add(invoice)
        for sequence, (days, amount) in enumerate(amounts, start=1):
            due = as_of + dt.timedelta(days=days)
            Instalment.objects.create(agreement=agreement, sequence=sequence, due_date=due, amount=amount)
    if extra["dispute_on"] is not None and extra["dispute_on"] < len(invoices):
        invoice = invoices[extra["dispute_on"]]
        opened = as_of - dt.timedelta(days=10)
        outcome = extra["dispute_resolved"]
        complaint = Complaint.objects.create(
            customer=invoice.customer, category="quality", description="Damaged", opened_on=opened,
            resolved_on=opened + dt.timedelta(days=5) if outcome else None, outcome=outcome,
        )  # fmt: skip
        complaint.invoices.add(invoice)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=invoice_rows, extra=extras)
def test_the_forecast_never_expects_more_than_the_open_receivables(rows, extra):
    with transaction.atomic():  # each example on its own ledger
        build_ledger(rows)
        as_of = TODAY - dt.timedelta(days=extra["as_of_days_ago"])
        add_agreement_and_dispute(extra, as_of)

        receivables = {f.currency: f.receivables for f in ledger_figures(as_of)}
        for made in forecast(as_of=as_of):
            assert made.total <= receivables.get(made.currency, Decimal("0"))
            assert made.total <= made.open_amount
            assert all(w.low <= w.expected <= w.high for w in made.weeks)
            assert made.naive_total <= made.open_amount
        transaction.set_rollback(True)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=invoice_rows)
def test_the_backtest_actuals_are_the_payments_received_in_each_week(rows):
    with transaction.atomic():
        build_ledger(rows)
        for result in backtest(as_of=TODAY, origins=3):
            for origin in result.origins:
                assert len(origin.actual) == min(13, (TODAY - origin.as_of).days // 7)
                for number, actual in enumerate(origin.actual, start=1):
                    first = origin.as_of + dt.timedelta(days=7 * number - 6)
                    received = Payment.objects.filter(
                        currency=result.currency, received_on__range=(first, first + dt.timedelta(days=6))
                    )
                    assert actual == sum((p.amount for p in received), Decimal("0.00"))
        transaction.set_rollback(True)
