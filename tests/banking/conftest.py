"""A small ledger the sample statements in samples/ were written against.

Acme pays from NL91ABNA0417164300 and Bakker from DE89370400440532013000 (their own accounts, as master
data); Zeta Holdings (NL44RABO0123456789) is no customer.
"""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from banking.models import CustomerBankAccount
from tests.factories import TODAY, CustomerFactory, InvoiceFactory

SAMPLES = Path(__file__).parent / "samples"
ACME_IBAN = "NL91ABNA0417164300"
BAKKER_IBAN = "DE89370400440532013000"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


@pytest.fixture
def ledger(db):
    acme = CustomerFactory(account_number="ACME01", name="Acme Trading B.V.")
    bakker = CustomerFactory(account_number="BAKK01", name="Bakker Logistics GmbH")
    CustomerFactory(account_number="OTHR01", name="Orion Tools Ltd")
    invoices = {}
    for customer, number, amount, days_late in (
        (acme, "INV-2026-00412", "1250.00", 20),
        (acme, "INV-2026-00413", "300.00", 10),
        (acme, "INV-2026-00414", "89.90", 5),
        (bakker, "INV-2026-00500", "2000.00", 15),
        (bakker, "INV-2026-00501", "480.00", 3),
    ):
        due = TODAY - timedelta(days=days_late)
        invoices[number] = InvoiceFactory(
            customer=customer, number=number, amount=Decimal(amount), due_date=due, issue_date=due
        )
    CustomerBankAccount.objects.create(iban=ACME_IBAN, customer=acme)
    CustomerBankAccount.objects.create(iban=BAKKER_IBAN, customer=bakker)
    return {"acme": acme, "bakker": bakker, "invoices": invoices}


WORDS = ["Alder", "Birch", "Cedar", "Dune", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper"]
FORMS = ["B.V.", "GmbH", "Ltd", "S.A.", "AB"]


@pytest.fixture
def small_ledger(db):
    """Forty customers with six open invoices each, for the benchmark's generator at a small size."""
    for index in range(40):
        account = f"{200001 + index}"
        trade = ["Foods", "Tools", "Logistics", "Print"][index % 4]
        name = f"{WORDS[index % 10]} {WORDS[(index * 3 + 1) % 10]} {trade} {FORMS[index % 5]}"
        customer = CustomerFactory(account_number=account, name=name)
        for sequence in range(1, 7):
            due = TODAY - timedelta(days=5 * sequence + index % 7)
            amount = Decimal(100 + (index * 37 + sequence * 101) % 4900) + Decimal("0.45")
            number = f"INV-{account}-{sequence:04d}"
            InvoiceFactory(customer=customer, number=number, issue_date=due, due_date=due, amount=amount)
