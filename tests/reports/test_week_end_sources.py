"""The backtest's week-end forecasts, made from what is gathered once for a run of week-ends
(reports/week_end_sources.py), are each day's own forecast to the cent, whatever the ledger."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoices.models import Allocation, Invoice, Payment
from reports.backtest import _weeks_of, make_forecasts, week_ends
from reports.forecast import (
    HORIZON_DAYS,
    _moves,
    _spread_sql,
    forecast,
    grouped,
    held_invoices,
    open_invoices,
    rated,
)
from reports.lateness import HISTORY_DAYS, live_bins
from reports.ledger import LedgerScope
from reports.week_end_sources import GROUP_ROW, WeekEndSources
from tests.factories import (
    TODAY,
    AgreementFactory,
    ComplaintFactory,
    CustomerFactory,
    InstalmentFactory,
    SegmentFactory,
)

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)
ORIGINS = 6

payments = st.lists(
    st.tuples(st.integers(min_value=0, max_value=250), st.sampled_from([10, 25, 40, 100])), max_size=3
)
invoice_rows = st.lists(
    st.fixed_dictionaries(
        {
            "customer": st.integers(min_value=0, max_value=3),
            "issued_days_ago": st.integers(min_value=-10, max_value=520),
            "terms": st.integers(min_value=0, max_value=90),
            "cents": st.integers(min_value=100, max_value=2_000_000),
            "status": st.sampled_from(["open", "open", "open", "disputed", "cancelled"]),
            # Each payment: (days after issue, percent of what is still open).
            "payments": payments,
        }
    ),
    max_size=30,
)


def build(rows) -> list:
    """Four customers (two in a segment, one paying in USD) and the rows' invoices, paid in steps."""
    segment = SegmentFactory()
    customers = [
        CustomerFactory(segment=segment),
        CustomerFactory(segment=segment),
        CustomerFactory(),
        CustomerFactory(currency="USD"),
    ]
    for index, row in enumerate(rows):
        customer = customers[row["customer"]]
        issued = TODAY - row["issued_days_ago"] * DAY
        due = issued + row["terms"] * DAY
        invoice = an_invoice(
            customer, f"W-{index}", issued=issued, due=due, amount=str(Decimal(row["cents"]) / 100)
        )
        Invoice.objects.filter(pk=invoice.pk).update(status=row["status"])
        allocated = Decimal("0")
        for number, (days_after, percent) in enumerate(row["payments"]):
            amount = ((invoice.amount - allocated) * percent / 100).quantize(Decimal("0.01"))
            if amount > 0:
                received_on = min(issued + days_after * DAY, TODAY)
                paid(invoice, f"W-{index}-{number}", received_on=received_on, amount=str(amount))
                allocated += amount
    return customers


def an_invoice(customer, number: str, *, issued: dt.date, due: dt.date, amount: str) -> Invoice:
    return Invoice.objects.create(number=number, customer=customer, issue_date=issued, due_date=due,
                                  amount=Decimal(amount), currency=customer.currency)  # fmt: skip


def paid(invoice: Invoice, reference: str, *, received_on: dt.date, amount: str) -> None:
    """A payment of `amount` to the invoice (and the running sum the allocation services keep)."""
    payment = Payment.objects.create(customer=invoice.customer, reference=reference, received_on=received_on,
                                     amount=Decimal(amount), currency=invoice.currency)  # fmt: skip
    Allocation.objects.create(payment=payment, invoice=invoice, amount=payment.amount)
    invoice.refresh_from_db(fields=["allocated_amount"])  # summed in Python: SQLite adds decimals as floats
    Invoice.objects.filter(pk=invoice.pk).update(allocated_amount=invoice.allocated_amount + payment.amount)


def each_days_own(days, scope) -> dict:
    return {day: _weeks_of(forecast(as_of=day, scope=scope)) for day in days}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=invoice_rows, scope_kind=st.sampled_from(["all", "segment", "currency", "portfolio"]))
def test_the_week_end_forecasts_are_each_days_own_on_random_ledgers(rows, scope_kind):
    with transaction.atomic():  # each example on its own ledger
        customers = build(rows)
        scope = {
            "all": LedgerScope(),
            "segment": LedgerScope(segment_id=customers[0].segment_id),
            "currency": LedgerScope(currency="USD"),
            "portfolio": LedgerScope(
                customers=type(customers[0]).objects.filter(pk__in=[c.pk for c in customers[1:3]])
            ),
        }[scope_kind]
        days = week_ends(TODAY, ORIGINS)

        assert make_forecasts(days, scope) == each_days_own(days, scope)
        transaction.set_rollback(True)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the arrays serve PostgreSQL's exact sums")
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=invoice_rows)
def test_the_arrays_spread_each_day_to_the_millionth_as_the_statement_does(rows):
    """Every row of the spreading (expected micro-units per week, naive and open money, the bins read
    back): the backtest's arrays (reports/spread_arrays.py) against forecast._spread_sql on the ledger."""
    with transaction.atomic():
        customers = build(rows)
        wanted = [customer.pk for customer in customers[::2]]
        scope = LedgerScope()
        sources = WeekEndSources.gathered(week_ends(TODAY, ORIGINS), scope)
        for day in week_ends(TODAY, ORIGINS):
            _, covered_ids, disputed_ids = held_invoices(day)
            held = [covered_ids, disputed_ids]
            held_ids = [invoice.pk for ids in held for invoice in sources.open_invoices(day, ids)]
            live_sql, live_params = _spread_sql(
                groups=grouped(_moves(day, scope, held=held)),
                bins=rated(live_bins(day, scope)),
                customer_ids=wanted,
                with_interval=False,
            )
            assert texts(sources.spread(day, held_ids=held_ids, customer_ids=wanted)) == rows_of(
                live_sql, live_params
            )
        transaction.set_rollback(True)


def test_agreements_and_disputes_count_on_the_days_they_were_active():
    """An agreement made and a dispute opened between two week-ends hold their invoices from then on."""
    customer = CustomerFactory()
    days = week_ends(TODAY, ORIGINS)
    rows = [
        {"customer": 2, "issued_days_ago": 200 + 9 * n, "terms": 30, "cents": 100_000, "status": "open",
         "payments": [(30 + n, 100)]}
        for n in range(8)
    ]  # fmt: skip
    build(rows)
    covered = an_invoice(customer, "A-1", issued=days[0] - 40 * DAY, due=days[0] - 10 * DAY, amount="900.00")
    disputed = an_invoice(customer, "D-1", issued=days[0] - 20 * DAY, due=days[0] + 10 * DAY, amount="500.00")
    plan = AgreementFactory(
        customer=customer, kind="plan", total_amount=Decimal("900.00"), made_on=days[2] - DAY
    )
    plan.invoices.add(covered)
    InstalmentFactory(agreement=plan, due_date=days[3] + 3 * DAY, amount=Decimal("450.00"))
    InstalmentFactory(agreement=plan, due_date=days[4] + 3 * DAY, amount=Decimal("450.00"))
    complaint = ComplaintFactory(customer=customer, opened_on=days[1] + DAY)
    complaint.invoices.add(disputed)

    made = make_forecasts(days, LedgerScope())

    assert made == each_days_own(days, LedgerScope())
    # Before the agreement the covered invoice is spread; from it on, its instalments are expected.
    assert made[days[1]] != made[days[2]]


def test_an_invoice_paid_in_steps_is_open_on_each_week_end_by_what_was_still_unpaid():
    customer = CustomerFactory()
    days = week_ends(TODAY, ORIGINS)
    invoice = an_invoice(customer, "S-1", issued=days[0] - 40 * DAY, due=days[0] - 5 * DAY, amount="1000.00")
    paid(invoice, "S-1", received_on=days[1] + DAY, amount="300.00")
    paid(invoice, "S-2", received_on=days[3], amount="300.00")
    paid(invoice, "S-3", received_on=days[4] + 2 * DAY, amount="400.00")

    made = make_forecasts(days, LedgerScope())

    naive_first_week = [made[day].get("EUR", ([], [Decimal("0")]))[1][0] for day in days]
    assert naive_first_week == [Decimal(v) for v in ("1000", "1000", "700", "400", "400", "0")]
    assert made == each_days_own(days, LedgerScope())


def rows_of(sql: str, params) -> list:
    """The rows, sorted, each value as text (a number by its value: 0, 0.00 and a count summed into a
    Decimal are the same)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return texts(cursor.fetchall())


def texts(rows) -> list:
    return sorted(tuple(map(_text, row)) for row in rows)


def _text(value) -> str:
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(Decimal(value).normalize())
    return str(value)


def test_at_the_edges_of_the_window_the_gathered_rows_are_the_live_ones():
    """Received a year before a week-end (out of its 12 months) or the day after, due a year before or
    the horizon after: each day's bins and open invoices (those spread, and those read on their own),
    read from the gathered tables, are the rows the live reads give."""
    customer = CustomerFactory()
    days = week_ends(TODAY, ORIGINS)
    for index, day in enumerate(days[1:3]):
        for offset in (-365, -364, -1, 0, 1):
            received_on = day + offset * DAY
            for due_offset in (-HISTORY_DAYS - 1, -HISTORY_DAYS, HORIZON_DAYS, HORIZON_DAYS + 1, -3):
                due = day + due_offset * DAY
                reference = f"E-{index}-{offset}-{due_offset}"
                issued = min(due, received_on) - DAY
                invoice = an_invoice(customer, reference, issued=issued, due=due, amount="100.00")
                paid(invoice, reference, received_on=received_on, amount="60.00")
    # A complaint about every invoice: the forecast reads each one's open amount on its own too.
    ComplaintFactory(customer=customer, opened_on=days[0]).invoices.add(*Invoice.objects.all())
    scope = LedgerScope()
    every_id = Invoice.objects.values("pk")
    no_ids = Invoice.objects.filter(pk=-1).values("pk")
    some_ids = Invoice.objects.filter(number__endswith="-3").values("pk")  # due 3 days before a week-end
    with transaction.atomic():
        sources = WeekEndSources.gathered(days, scope)
        for day in days:
            assert texts(sources.bin_rows(day)) == rows_of(*rated(live_bins(day, scope)))
            moves = "WITH {} SELECT customer, segment, currency, off, held, amt FROM moves"
            gathered_sql, gathered_params = sources.moves(day, held=[no_ids])
            live_sql, live_params = _moves(day, scope, held=[no_ids])
            assert rows_of(moves.format(gathered_sql), gathered_params) == rows_of(
                moves.format(live_sql), live_params
            )
            live_open = open_invoices(day, scope.filter(Invoice.objects.filter(pk__in=every_id)))
            assert sources.open_invoices(day, every_id) == sorted(live_open, key=lambda invoice: invoice.pk)
            # The groups the forecast spreads (from the group steps on PostgreSQL), held ones taken out.
            assert same_groups(sources, day, scope, held=[some_ids])
        sources.drop()


def same_groups(sources: WeekEndSources, day: dt.date, scope: LedgerScope, *, held: list) -> bool:
    """Whether the day's groups read from what was gathered are those summed from the ledger."""
    live_sql, live_params = grouped(_moves(day, scope, held=held))
    live = rows_of(f"WITH {live_sql} SELECT {GROUP_ROW} FROM grp", live_params)
    return texts(sources.group_rows(day, held=held)) == live


@pytest.mark.parametrize("held", [False, True])
def test_a_groups_mean_days_to_its_due_date_round_on_every_week_end_as_the_live_groups_do(held):
    """Two invoices due a day apart in one due week: the group's mean is a whole number and a half when
    their open amounts are equal (halves go to the even number, so it rounds down on one week-end and
    up on the next), a third or two thirds off otherwise, and a half from the day a part payment makes
    them equal. `held`: a third invoice in each group, held, so the other two are worked out for the
    day, not read from the steps."""
    customer = CustomerFactory()
    days = week_ends(TODAY, ORIGINS)
    issued = days[0] - 60 * DAY
    amounts = [("100.00", "100.00"), ("200.00", "100.00"), ("100.00", "200.00"), ("150.00", "100.00")]
    for index, pair in enumerate(amounts):
        for due_offset in (-41, -6, 8):  # 1 more than a multiple of 7: both days in one due week
            due = days[0] + (due_offset + 7 * index) * DAY
            reference = f"M-{index}-{due_offset}"
            invoices = [
                an_invoice(customer, f"{reference}-{n}", issued=issued, due=due + n * DAY, amount=amount)
                for n, amount in enumerate(pair)
            ]
            if pair == ("150.00", "100.00"):
                paid(invoices[0], reference, received_on=days[2] + 2 * DAY, amount="50.00")
            if held:
                an_invoice(customer, f"{reference}-H", issued=issued, due=due, amount="50.00")
    held_ids = Invoice.objects.filter(number__endswith="-H").values("pk")
    # Only an invoice an agreement or a complaint covers can be held.
    ComplaintFactory(customer=customer, opened_on=issued).invoices.add(
        *Invoice.objects.filter(pk__in=held_ids)
    )
    with transaction.atomic():
        sources = WeekEndSources.gathered(days, LedgerScope())
        for day in days:
            assert same_groups(sources, day, LedgerScope(), held=[held_ids])
        sources.drop()


@pytest.mark.parametrize("count, gathered", [(1, False), (2, False), (3, True)])
def test_a_run_too_short_to_repay_the_gathering_reads_the_ledger_and_equals_it(count, gathered):
    build(
        [
            {
                "customer": 0,
                "issued_days_ago": 60,
                "terms": 30,
                "cents": 50_000,
                "status": "open",
                "payments": [],
            }
        ]
    )
    days = week_ends(TODAY, count)
    with CaptureQueriesContext(connection) as queries:
        made = make_forecasts(days, LedgerScope())
    assert any("CREATE TEMPORARY TABLE" in query["sql"] for query in queries) == gathered
    assert made == each_days_own(days, LedgerScope())
