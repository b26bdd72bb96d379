"""On random ledgers, the SQL aggregates agree with a plain-Python computation of the same figures."""

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoices.models import Allocation, Invoice, Payment
from reports.ledger import AGING_BUCKETS, countback_dso, months_back, period_start
from reports.selectors import ledger_figures
from tests.factories import TODAY, CustomerFactory

pytestmark = pytest.mark.django_db

invoice_rows = st.lists(
    st.fixed_dictionaries(
        {
            "currency": st.sampled_from(["EUR", "USD"]),
            "issued_days_ago": st.integers(min_value=-20, max_value=400),
            "terms": st.integers(min_value=0, max_value=90),
            "cents": st.integers(min_value=1, max_value=5_000_000),
            "status": st.sampled_from(["open", "open", "open", "disputed", "cancelled", "written_off"]),
            "paid_share": st.sampled_from([0, 0, 25, 50, 100]),
            "paid_days_after_issue": st.integers(min_value=0, max_value=200),
        }
    ),
    min_size=0,
    max_size=14,
)


def build_ledger(rows):
    customers = {"EUR": CustomerFactory(currency="EUR"), "USD": CustomerFactory(currency="USD")}
    for index, row in enumerate(rows):
        issued = TODAY - dt.timedelta(days=row["issued_days_ago"])
        amount = Decimal(row["cents"]) / 100
        invoice = Invoice.objects.create(
            number=f"P-{index}",
            customer=customers[row["currency"]],
            issue_date=issued,
            due_date=issued + dt.timedelta(days=row["terms"]),
            amount=amount,
            currency=row["currency"],
            status=row["status"],
        )
        paid = (amount * row["paid_share"] / 100).quantize(Decimal("0.01"))
        if paid > 0:
            payment = Payment.objects.create(
                customer=invoice.customer,
                reference=f"PAY-{index}",
                received_on=issued + dt.timedelta(days=row["paid_days_after_issue"]),
                amount=paid,
                currency=row["currency"],
            )
            Allocation.objects.create(payment=payment, invoice=invoice, amount=paid)
            # The running sums the allocation services keep (today's aging reads open invoices by them).
            Invoice.objects.filter(pk=invoice.pk).update(allocated_amount=paid)
            Payment.objects.filter(pk=payment.pk).update(allocated_amount=paid)


def plain_python_figures(as_of: dt.date, period_months: int = 3) -> dict:
    """The same figures from the rows, one invoice at a time."""
    start = period_start(as_of, period_months)
    result = defaultdict(lambda: {"aging": dict.fromkeys([b[0] for b in AGING_BUCKETS], Decimal("0.00"))})
    for invoice in Invoice.objects.exclude(status__in=["cancelled", "written_off"]):
        figures = result[invoice.currency]
        figures.setdefault("sales", Decimal("0.00"))
        figures.setdefault("monthly", defaultdict(Decimal))
        if invoice.issue_date > as_of:
            continue
        if start <= invoice.issue_date:
            figures["sales"] += invoice.amount
        figures["monthly"][invoice.issue_date.replace(day=1)] += invoice.amount
        paid = sum(
            (
                a.amount
                for a in invoice.allocations.select_related("payment")
                if a.payment.received_on <= as_of
            ),
            Decimal("0.00"),
        )
        late = (as_of - invoice.due_date).days
        bucket = next(
            key
            for key, _, fewest, most in AGING_BUCKETS
            if (fewest is None or late >= fewest) and (most is None or late <= most)
        )
        figures["aging"][bucket] += invoice.amount - paid
    return dict(result)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=invoice_rows, as_of_days_ago=st.integers(min_value=0, max_value=200))
def test_sql_figures_match_plain_python_on_random_ledgers(rows, as_of_days_ago):
    from django.db import transaction

    as_of = TODAY - dt.timedelta(days=as_of_days_ago)
    with transaction.atomic():
        build_ledger(rows)
        expected = plain_python_figures(as_of)
        figures = {f.currency: f for f in ledger_figures(as_of)}
        for currency, plain in expected.items():
            if currency not in figures:
                # Only invoices issued after the as-of day: nothing to report, nothing open.
                assert sum(plain["aging"].values()) == 0 and plain.get("sales", 0) == 0
                continue
            sql = figures[currency]
            assert sql.aging == plain["aging"]
            assert sql.credit_sales == plain["sales"]
            receivables = sum(plain["aging"].values())
            if plain["sales"]:
                expected_dso = (receivables * sql.period_days / plain["sales"]).quantize(
                    Decimal("0.1"), ROUND_HALF_UP
                )
                assert sql.dso == expected_dso
            else:
                assert sql.dso is None
            months = [
                (days, plain["monthly"].get(first, Decimal("0"))) for first, days in months_back(as_of, 24)
            ]
            assert sql.countback_dso == countback_dso(receivables, months)[0]
        transaction.set_rollback(True)
