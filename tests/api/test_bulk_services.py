"""The bulk sync services under concurrent writers: a checked batch never overwrites a newer payment."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from invoices.models import Invoice
from invoices.services import InvoiceData, allocate, check_invoice_batch, write_invoice_batch
from tests.conftest import need_service
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def test_an_invoice_paid_after_the_check_is_not_overwritten_and_the_batch_fails():
    need_service(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    customer = CustomerFactory(account_number="ACC-1")
    invoice = InvoiceFactory(number="F-1", customer=customer, amount=Decimal("100.00"))
    item = InvoiceData("F-1", "ACC-1", dt.date(2026, 10, 1), dt.date(2026, 10, 31), Decimal("90.00"), "EUR")
    plan = check_invoice_batch([item], seen_numbers=set())
    assert len(plan.to_update) == 1
    allocate(payment=PaymentFactory(customer=customer), invoice=invoice, amount=Decimal("30.00"))  # meanwhile
    with pytest.raises(IntegrityError), transaction.atomic():
        write_invoice_batch(plan)
    invoice.refresh_from_db()
    assert (invoice.amount, invoice.allocated_amount) == (Decimal("100.00"), Decimal("30.00"))
    assert Invoice.objects.count() == 1
