"""Ready-made situations for the worklist and customer-page tests, built with the factories."""

import datetime as dt
from decimal import Decimal

from tests.factories import (
    TODAY,
    AgreementFactory,
    ContactFactory,
    CustomerFactory,
    InstalmentFactory,
    InvoiceFactory,
)


def overdue_customer(collector=None, *, days_late=45, amount="2800.00", invoices=3, **fields):
    """A customer with `invoices` open invoices `days_late` past due."""
    customer = CustomerFactory(collector=collector, **fields)
    ContactFactory(customer=customer, name=f"AP of {customer.name}"[:200])
    for _ in range(invoices):
        InvoiceFactory(
            customer=customer, due_date=TODAY - dt.timedelta(days=days_late), amount=Decimal(amount)
        )
    return customer


def broken_promise_customer(collector=None, *, amount="1200.00", broken_days_ago=9):
    customer = overdue_customer(collector, days_late=20, amount=amount, invoices=1)
    broken_on = TODAY - dt.timedelta(days=broken_days_ago)
    agreement = AgreementFactory(
        customer=customer,
        total_amount=Decimal(amount),
        made_on=broken_on - dt.timedelta(days=10),
        state="broken",
        closed_on=broken_on,
    )
    InstalmentFactory(
        agreement=agreement, due_date=broken_on - dt.timedelta(days=3), amount=Decimal(amount), state="missed"
    )
    return customer
