"""`customers.bulk`: insert_rows and update_rows, tuples in, the same values out, on PostgreSQL and SQLite."""

import datetime as dt
from decimal import Decimal

import pytest

from calls.models import Task
from customers.bulk import insert_rows, update_rows
from invoices.models import Invoice
from tests.factories import TODAY, CustomerFactory, InvoiceFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_rows_keep_blank_text_nulls_and_awkward_characters():
    customer = CustomerFactory()
    user = UserFactory()
    done_at = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
    reasons = ['Said "next week", then:\nnothing', "", "Müller & Söhne; 100% \\ sure"]
    columns = ("customer_id", "assigned_to_id", "kind", "reason", "due_on", "status", "created_at", "done_at")
    rows = [
        (customer.id, user.id if n else None, "call", reason, TODAY, "open", done_at, done_at if n else None)
        for n, reason in enumerate(reasons)
    ]
    insert_rows(Task, columns, rows)
    stored = list(
        Task.objects.order_by("id").values_list("reason", "assigned_to_id", "done_at", "dedupe_key")
    )
    assert list(stored) == [
        (reasons[0], None, None, None),
        (reasons[1], user.id, done_at, None),
        (reasons[2], user.id, done_at, None),
    ]
    assert Task.objects.filter(reason="").count() == 1  # blank, not NULL, in a column that cannot be NULL


def test_decimals_and_dates_arrive_exactly():
    customer = CustomerFactory()
    now = dt.datetime(2026, 11, 23, 8, tzinfo=dt.UTC)
    columns = ("number", "customer_id", "issue_date", "due_date", "amount", "currency", "allocated_amount",
               "status", "description", "created_at", "updated_at")  # fmt: skip
    insert_rows(Invoice, columns, [("B-1", customer.id, TODAY, TODAY, Decimal("1234567.89"), "EUR",
                                    Decimal("0.01"), "open", "", now, now)])  # fmt: skip
    invoice = Invoice.objects.get(number="B-1")
    assert (invoice.amount, invoice.allocated_amount, invoice.due_date) == (
        Decimal("1234567.89"), Decimal("0.01"), TODAY,
    )  # fmt: skip


def test_update_rows_sets_just_the_named_columns_of_the_rows_named(django_assert_max_num_queries):
    first, second, untouched = (InvoiceFactory(amount=Decimal("100.00")) for _ in range(3))
    rows = [(second.pk, Decimal("12.34"), "paid"), (first.pk, Decimal("0.01"), "disputed")]

    with django_assert_max_num_queries(1):  # one UPDATE ... FROM VALUES (SQLite: bulk_update's one)
        update_rows(Invoice, ["allocated_amount", "status"], rows)

    stored = dict(Invoice.objects.values_list("pk", "allocated_amount"))
    assert (stored[first.pk], stored[second.pk], stored[untouched.pk]) == (
        Decimal("0.01"), Decimal("12.34"), Decimal("0.00"),
    )  # fmt: skip
    assert Invoice.objects.get(pk=first.pk).status == "disputed"
    assert Invoice.objects.get(pk=untouched.pk).status == "open"
    assert Invoice.objects.get(pk=first.pk).amount == Decimal("100.00")


def test_update_rows_keyed_by_a_one_to_one_primary_key():
    from reports.models import WorthItScore
    from reports.scores import rebuild_worth_it_scores

    customer = CustomerFactory()
    rebuild_worth_it_scores(today=TODAY)

    update_rows(WorthItScore, ["score", "revenue_points"], [(customer.pk, 77, Decimal("12.5"))])

    assert WorthItScore.objects.filter(customer=customer).values_list("score", "revenue_points").get() == (
        77, Decimal("12.5"),
    )  # fmt: skip
