"""Reads of the banking app: the matcher's view of the ledger, and the queue a user may work."""

from decimal import Decimal

from django.db.models import F, QuerySet

from customers.access import Actor, scope_to_portfolio
from customers.models import Customer
from invoices.choices import CLOSED_STATUSES
from invoices.models import Invoice

from .choices import WAITING_STATUSES
from .matching import Book, OpenInvoice, Payer, make_book
from .models import BankTransaction, CustomerBankAccount


def matching_book(*, currencies: set[str]) -> Book:
    """Every customer, the open invoices in these currencies and the known IBANs, in three queries.

    Read whole because a payer may be anyone: names are compared against every customer, and an
    invoice number in the text may be any open invoice's.
    """
    payers = [Payer(*row) for row in Customer.objects.values_list("pk", "name", "account_number")]
    rows = (
        Invoice.objects.filter(currency__in=currencies, allocated_amount__lt=F("amount"))
        .exclude(status__in=CLOSED_STATUSES)
        .values_list("pk", "number", "customer_id", "amount", "allocated_amount", "currency", "due_date")
    )
    invoices = [
        OpenInvoice(pk, number, customer_id, Decimal(amount) - Decimal(allocated), currency, due_date)
        for pk, number, customer_id, amount, allocated, currency, due_date in rows
    ]
    owners = {
        iban: (customer_id, source == "learned")
        for iban, customer_id, source in CustomerBankAccount.objects.values_list(
            "iban", "customer_id", "source"
        )
    }
    return make_book(payers=payers, invoices=invoices, iban_owners=owners)


def waiting_transactions(*, user: Actor) -> QuerySet[BankTransaction]:
    """The queue: credit lines waiting for a person, oldest first. A collector sees the lines whose
    likeliest payer is in their portfolio; unidentified payers are the credit managers'."""
    queryset = BankTransaction.objects.filter(status__in=WAITING_STATUSES).select_related("customer")
    return scope_to_portfolio(queryset, user).order_by("booking_date", "pk")
