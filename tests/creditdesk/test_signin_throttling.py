"""Failed sign-ins are throttled (django-axes): per username and per address, on both login pages."""

import runpy
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from rest_framework.authtoken.models import Token

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "pass-word-123"  # UserFactory's


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Every failed sign-in hashes a password: a fast hasher keeps these tests quick."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sign_in(client, username, password, address="198.51.100.1", url=None, **headers):
    return client.post(
        url or reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address, **headers
    )


def fail(client, username, times, address="198.51.100.1", **headers):
    for _ in range(times):
        sign_in(client, username, "not-the-password", address, **headers)  # the form again; the 5th: locked


def test_after_five_failures_the_username_is_locked_from_every_address_with_a_clear_message(client):
    UserFactory(username="carla", role="collector")
    for n in range(5):
        fail(client, "carla", 1, address=f"198.51.100.{n + 1}")

    response = sign_in(client, "carla", PASSWORD, address="203.0.113.77")

    assert response.status_code == 429
    page = response.content.decode()
    assert "Sign-in locked" in page and "Wait 15 minutes" in page
    assert "ask a credit manager or your administrator" in page
    assert "_auth_user_id" not in client.session


def test_after_five_failures_from_one_address_every_username_is_locked_there_but_not_elsewhere(client):
    UserFactory(username="carla", role="collector")
    for n in range(5):
        fail(client, f"guess{n}", 1, address="203.0.113.9")

    assert sign_in(client, "carla", PASSWORD, address="203.0.113.9").status_code == 429
    assert sign_in(client, "carla", PASSWORD, address="198.51.100.20").status_code == 302


def test_four_failures_still_let_the_right_password_in(client):
    UserFactory(username="carla", role="collector")
    fail(client, "carla", 4)
    response = sign_in(client, "carla", PASSWORD)
    assert response.status_code == 302 and client.session["_auth_user_id"]


def test_the_lock_lifts_after_the_cool_off(client):
    from axes.models import AccessAttempt

    UserFactory(username="carla", role="collector")
    fail(client, "carla", 5)
    assert sign_in(client, "carla", PASSWORD).status_code == 429

    sixteen_minutes_ago = AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    AccessAttempt.objects.update(attempt_time=sixteen_minutes_ago)

    assert sign_in(client, "carla", PASSWORD).status_code == 302


def test_the_admin_login_is_throttled_and_shares_the_count_with_the_login_page(client):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    admin_login = reverse("admin:login")
    fail(client, "root", 3)
    assert sign_in(client, "root", "nope", url=admin_login).status_code == 200
    assert sign_in(client, "root", "nope", url=admin_login).status_code == 429  # the fifth failure

    response = sign_in(client, "root", PASSWORD, url=admin_login)

    assert response.status_code == 429 and "Sign-in locked" in response.content.decode()


def test_a_locked_out_user_keeps_api_token_access_and_the_api_has_no_password_sign_in(client):
    user = UserFactory(username="erp", role="integrator")
    token = Token.objects.create(user=user)
    fail(client, "erp", 5)
    assert sign_in(client, "erp", PASSWORD).status_code == 429

    response = client.get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Token {token.key}")

    assert response.status_code == 200
    # The API's only other way in is the session the login page (throttled above) made.
    assert settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] == [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ]


def proxy_settings(monkeypatch, **env) -> dict:
    """The client-address settings as creditdesk/settings.py derives them from this environment."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    loaded = runpy.run_path(str(settings.BASE_DIR / "creditdesk" / "settings.py"))
    return {name: value for name, value in loaded.items() if name.startswith(("AXES_IPWARE_", "IPWARE_"))}


def test_without_a_configured_proxy_a_forwarded_for_header_is_ignored(client, monkeypatch):
    UserFactory(username="carla", role="collector")
    with override_settings(**proxy_settings(monkeypatch)):
        for n in range(5):  # one client sending a different made-up X-Forwarded-For each time
            fail(client, f"guess{n}", 1, address="203.0.113.9", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        assert sign_in(client, "carla", PASSWORD, address="203.0.113.9").status_code == 429


def test_behind_one_proxy_the_address_it_appended_counts_and_a_forged_one_does_not(client, monkeypatch):
    UserFactory(username="carla", role="collector")
    behind_proxy = proxy_settings(
        monkeypatch, CREDITDESK_CLIENT_IP_HEADER="X-Forwarded-For", CREDITDESK_PROXY_COUNT="1"
    )
    proxy = "10.0.0.5"  # every request reaches the app from the proxy
    with override_settings(**behind_proxy):
        for n in range(5):  # the attacker forges an entry; the proxy appends the real address
            fail(client, f"guess{n}", 1, address=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.9")

        locked = sign_in(client, "carla", PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.9")
        elsewhere = sign_in(client, "carla", PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.4")

    assert locked.status_code == 429
    assert elsewhere.status_code == 302  # the proxy's own address is not locked for everyone
    from axes.models import AccessAttempt

    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}
