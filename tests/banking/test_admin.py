"""The banking admin: statements, transactions and bank accounts, read-only, credit managers only."""

import pytest
from django.urls import reverse

from banking.models import BankStatement, BankTransaction, CustomerBankAccount
from banking.services import import_statement_file
from customers.access import SYSTEM
from tests.banking.conftest import ACME_IBAN, sample
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
MODELS = (BankStatement, BankTransaction, CustomerBankAccount)


def pages():
    for model in MODELS:
        opts = model._meta
        first = model.objects.order_by("pk").first()
        yield reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        yield reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk])


@pytest.fixture
def imported(ledger):
    import_statement_file(
        content=sample("camt053_001_02_two_statements.xml"), file_name="camt.xml", actor=SYSTEM
    )
    assert BankTransaction.objects.exists() and CustomerBankAccount.objects.filter(iban=ACME_IBAN).exists()


@pytest.mark.parametrize("who", ["superuser", "credit_manager"])
def test_the_banking_admin_pages_load_for_a_superuser_and_a_credit_manager(client, imported, who):
    if who == "superuser":
        user = UserFactory(username="root", is_staff=True, is_superuser=True)
    else:
        user = UserFactory(username="cm-staff", is_staff=True, role="credit_manager")
    client.force_login(user)

    for url in pages():
        assert client.get(url).status_code == 200, url
    changelist = reverse("admin:banking_banktransaction_changelist")
    assert b"Acme" in client.get(changelist, {"q": "Acme"}).content


def test_the_banking_admin_is_read_only(client, imported):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    row = BankTransaction.objects.order_by("pk").first()
    before = (row.status, row.amount, row.customer_id)

    assert client.get(reverse("admin:banking_banktransaction_add")).status_code == 403
    assert client.get(reverse("admin:banking_bankstatement_add")).status_code == 403
    assert client.get(reverse("admin:banking_customerbankaccount_add")).status_code == 403
    change = reverse("admin:banking_banktransaction_change", args=[row.pk])
    client.post(change, {"status": "confirmed", "amount": "1.00"})
    delete = reverse("admin:banking_banktransaction_delete", args=[row.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403

    row.refresh_from_db()
    assert (row.status, row.amount, row.customer_id) == before


def test_a_wrongly_learned_iban_can_be_deleted_in_the_admin(client, imported):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    account = CustomerBankAccount.objects.get(iban=ACME_IBAN)

    client.post(reverse("admin:banking_customerbankaccount_delete", args=[account.pk]), {"post": "yes"})

    assert not CustomerBankAccount.objects.filter(pk=account.pk).exists()


@pytest.mark.parametrize("role", ["collector", "finance_lead", "integrator"])
def test_the_banking_admin_is_refused_to_other_roles(client, imported, role):
    # Staff status and even a model permission (a collector may view transactions, for the queue) do not
    # open the admin: the site asks customers.access for USE_ADMIN, a credit manager's alone.
    user = UserFactory(username=f"{role}-staff", is_staff=True, role=role)
    client.force_login(user)

    for url in pages():
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
