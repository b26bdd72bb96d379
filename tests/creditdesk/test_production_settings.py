"""Production settings: DEBUG off by default, a real secret key or no start, HTTPS, headers and a CSP."""

import os
import re
import runpy
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SETTINGS_FILE = settings.BASE_DIR / "creditdesk" / "settings.py"
REAL_KEY = secrets.token_urlsafe(50)
ENV_NAMES = re.compile(r"^(DJANGO_|AXES_|CREDITDESK_CLIENT_IP_HEADER|CREDITDESK_PROXY_COUNT)")


def load_settings(monkeypatch, **env) -> dict:
    """creditdesk/settings.py as it comes out of exactly this environment (no DJANGO_* but these)."""
    for name in [name for name in os.environ if ENV_NAMES.match(name)]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


def test_debug_is_off_when_django_debug_is_not_set(monkeypatch):
    assert load_settings(monkeypatch, DJANGO_SECRET_KEY=REAL_KEY)["DEBUG"] is False


@pytest.mark.parametrize(
    "key",
    [
        None,
        "",
        "dev-only-insecure-key-change-me-in-production",
        "too-short-a-key",
        "a" * 60,
        "django-insecure-" + secrets.token_urlsafe(50),
    ],
    ids=["unset", "empty", "development-key", "short", "few-characters", "django-insecure"],
)
def test_settings_refuse_to_start_with_debug_off_and_no_real_key(monkeypatch, key):
    env = {} if key is None else {"DJANGO_SECRET_KEY": key}
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY"):
        load_settings(monkeypatch, DJANGO_DEBUG="false", **env)


def test_with_debug_on_the_development_key_is_allowed(monkeypatch):
    loaded = load_settings(monkeypatch, DJANGO_DEBUG="true")
    assert loaded["DEBUG"] is True
    assert loaded["SECRET_KEY"] == "dev-only-insecure-key-change-me-in-production"


def test_production_turns_on_https_secure_cookies_and_hsts(monkeypatch):
    loaded = load_settings(monkeypatch, DJANGO_SECRET_KEY=REAL_KEY)

    assert loaded["SESSION_COOKIE_SECURE"] and loaded["CSRF_COOKIE_SECURE"]
    assert loaded["SESSION_COOKIE_HTTPONLY"]
    assert loaded["SECURE_SSL_REDIRECT"] is True
    assert loaded["SECURE_HSTS_SECONDS"] == 31_536_000
    assert loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"] and loaded["SECURE_HSTS_PRELOAD"]
    assert loaded["X_FRAME_OPTIONS"] == "DENY" and loaded["SECURE_CONTENT_TYPE_NOSNIFF"]
    assert "SECURE_PROXY_SSL_HEADER" not in loaded  # X-Forwarded-Proto is not trusted unless told


def test_production_switches_come_from_the_environment(monkeypatch):
    loaded = load_settings(
        monkeypatch,
        DJANGO_SECRET_KEY=REAL_KEY,
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_TRUST_X_FORWARDED_PROTO="true",
        DJANGO_SECURE_HSTS_SECONDS="3600",
        DJANGO_SECURE_HSTS_PRELOAD="false",
        AXES_FAILURE_LIMIT="10",
        AXES_COOLOFF_MINUTES="30",
        AXES_LOCKOUT_PARAMETERS="username+ip_address,ip_address",
    )

    assert loaded["SECURE_SSL_REDIRECT"] is False
    assert loaded["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert loaded["SECURE_HSTS_SECONDS"] == 3600 and loaded["SECURE_HSTS_PRELOAD"] is False
    assert loaded["AXES_FAILURE_LIMIT"] == 10 and loaded["AXES_COOLOFF_TIME"].total_seconds() == 1800
    assert loaded["AXES_LOCKOUT_PARAMETERS"] == [["username", "ip_address"], "ip_address"]


def test_check_deploy_with_production_settings_prints_no_issues():
    env = {name: value for name, value in os.environ.items() if not ENV_NAMES.match(name)}
    env.update(DJANGO_DEBUG="false", DJANGO_SECRET_KEY=REAL_KEY, DJANGO_ALLOWED_HOSTS="creditdesk.example")
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "System check identified no issues" in output and "WARNING" not in output


@pytest.mark.django_db
def test_pages_carry_a_self_only_content_security_policy_and_security_headers(client):
    response = client.get("/login/")

    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


# Rendered to PDF by WeasyPrint, never sent to a browser: their <style> is not under the CSP.
PDF_TEMPLATES = {"calls/statement.html", "dunning/letter.html", "reports/report_pdf.html"}
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|javascript:", re.I)


def test_browser_templates_have_no_inline_script_style_or_event_handler():
    root = settings.BASE_DIR / "templates"
    offenders = {
        str(path.relative_to(root)): INLINE.findall(path.read_text())
        for path in root.rglob("*.html")
        if str(path.relative_to(root)) not in PDF_TEMPLATES and INLINE.search(path.read_text())
    }
    assert offenders == {}


@pytest.mark.django_db
def test_api_docs_load_their_script_from_a_file(client, integrator):
    client.force_login(integrator)
    response = client.get("/api/v1/docs/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "<script>" not in page and "?script" in page
    assert "'unsafe-inline'" not in response["Content-Security-Policy"].split("script-src")[1].split(";")[0]
