"""One read-only admin mixin (customers.admin.ReadOnlyAdminMixin) serves every app's service-written
and derived rows: nothing is added or changed around the services; deleting only where `deletable`."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from banking.models import BankStatement, BankTransaction, CustomerBankAccount
from calls.models import PaymentClaim, Standing
from customers.admin import ReadOnlyAdminMixin
from customers.models import ContactChange
from invoices.models import Allocation
from reports.models import LatenessBin, WorthItScore
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# model: may a row be deleted in the admin (forgotten), though never added or changed there
EXPECTED = {
    BankStatement: False,
    BankTransaction: False,
    CustomerBankAccount: True,  # forget a wrongly learned IBAN
    Standing: False,
    PaymentClaim: True,
    WorthItScore: False,
    LatenessBin: False,
    ContactChange: True,
    Allocation: True,
}


@pytest.mark.parametrize("model", list(EXPECTED), ids=lambda model: model.__name__)
def test_service_written_rows_are_never_added_or_changed_in_the_admin_and_deleted_only_if_deletable(model):
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(username="root", is_staff=True, is_superuser=True)
    row = model()

    assert isinstance(model_admin, ReadOnlyAdminMixin)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, row)
    assert model_admin.has_delete_permission(request, row) is EXPECTED[model]


def test_deletable_still_asks_the_users_own_delete_permission():
    model_admin = admin.site._registry[CustomerBankAccount]
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(username="staff", is_staff=True)  # no model permissions at all
    assert not model_admin.has_delete_permission(request)


def test_the_banking_inline_of_transactions_is_read_only_too():
    [inline] = admin.site._registry[BankStatement].inlines
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(username="root", is_staff=True, is_superuser=True)
    instance = inline(BankStatement, admin.site)
    assert issubclass(inline, ReadOnlyAdminMixin)
    assert not instance.has_add_permission(request, None) and not instance.has_change_permission(request)
    assert not instance.has_delete_permission(request)
