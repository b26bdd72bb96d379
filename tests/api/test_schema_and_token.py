"""The API documents itself without any CDN, and each user gets a token from a page or a command."""

import re

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_schema_documents_every_field_and_the_error_answers(as_integrator):
    response = as_integrator.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    bulk = schema["paths"]["/api/v1/invoices/bulk/"]["post"]
    assert {"200", "400", "401", "403", "409", "422", "429"} <= set(bulk["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in bulk["parameters"])
    components = schema["components"]["schemas"]
    resources = {
        path: item for path, item in schema["paths"].items() if not path.startswith("/api/v1/reports/")
    }
    undocumented = [
        f"{name}.{field}"
        for name in components_used(resources, components)
        for field, spec in components[name].get("properties", {}).items()
        if not spec.get("description") and "$ref" not in spec and "allOf" not in spec
    ]
    assert undocumented == []


def components_used(node, components: dict, found: set | None = None) -> set:
    """Names of the schema components `node` refers to, directly or through other components."""
    found = set() if found is None else found
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] not in found:
            name = ref.rsplit("/", 1)[1]
            found.add(name)
            components_used(components[name], components, found)
        for value in node.values():
            components_used(value, components, found)
    elif isinstance(node, list):
        for value in node:
            components_used(value, components, found)
    return found


def test_swagger_ui_loads_only_local_assets(client, integrator):
    client.force_login(integrator)
    html = client.get("/api/v1/docs/").content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    # static files, and the UI's own start-up script served by the docs view (no inline script: CSP)
    assert urls and all(url.startswith(("/static/", "/api/v1/docs/?script")) for url in urls), urls
    assert "cdn" not in html.lower()


def test_token_page_shows_and_regenerates_the_users_token(client, integrator):
    client.force_login(integrator)
    assert "You have no token yet" in client.get("/api-token/").content.decode()
    client.post("/api-token/")
    first = Token.objects.get(user=integrator).key
    assert first in client.get("/api-token/").content.decode()
    client.post("/api-token/")
    second = Token.objects.get(user=integrator).key
    assert second != first
    assert client.get("/api/v1/segments/", HTTP_AUTHORIZATION=f"Token {first}").status_code == 401


def test_integrator_home_links_to_the_token_page_and_the_docs(client, integrator):
    client.force_login(integrator)
    html = client.get("/").content.decode()
    assert 'href="/api-token/"' in html and 'href="/api/v1/docs/"' in html


def test_api_token_command_prints_a_working_token(capsys):
    user = UserFactory(username="erp", role="integrator")
    call_command("api_token", "erp")
    key = capsys.readouterr().out.strip()
    assert Token.objects.get(user=user).key == key
    call_command("api_token", "erp")
    assert capsys.readouterr().out.strip() == key
    call_command("api_token", "erp", "--regenerate")
    assert capsys.readouterr().out.strip() != key
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("api_token", "ghost")
