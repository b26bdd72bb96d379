"""Roles exist as groups with the right permissions, and each role's home page shows it."""

import pytest
from django.contrib.auth.models import Group

from customers.access import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_migration_creates_the_four_roles():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "Credit manager",
        "Collector",
        "Finance lead",
        "Integrator",
    }


@pytest.mark.parametrize(
    ("role", "allowed", "refused"),
    [
        (
            "credit_manager",
            ["customers.change_customer", "calls.delete_complaint", "dunning.change_policy"],
            [],
        ),
        (
            "collector",
            ["calls.add_interaction", "agreements.add_agreement", "customers.view_customer"],
            [
                "invoices.add_invoice",
                "dunning.change_policy",
                "customers.change_customer",
                "calls.change_complaint",
            ],
        ),
        (
            "finance_lead",
            ["invoices.view_invoice", "calls.view_interaction"],
            ["calls.add_interaction", "invoices.change_invoice"],
        ),
        (
            "integrator",
            [
                "invoices.add_invoice",
                "invoices.add_payment",
                "customers.change_customer",
                "calls.view_complaint",
            ],
            [
                "calls.add_interaction",
                "dunning.change_policy",
                "customers.add_segment",
                "customers.change_segment",
                "calls.view_interaction",
                "calls.view_excuse",
                "calls.view_task",
            ],
        ),
    ],
)
def test_each_role_holds_its_permissions(role, allowed, refused):
    user = UserFactory(role=role)
    for permission in allowed:
        assert user.has_perm(permission), permission
    for permission in refused:
        assert not user.has_perm(permission), permission


@pytest.mark.parametrize("role", list(Role))
def test_home_page_names_the_role(client, role):
    user = UserFactory(role=role)
    client.force_login(user)
    page = client.get("/")
    assert page.status_code == 200
    assert role.label in page.content.decode()


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_login_page_signs_in(client):
    UserFactory(username="ann", role="collector")
    response = client.post("/login/", {"username": "ann", "password": "pass-word-123"}, follow=True)
    assert "Collector" in response.content.decode()
