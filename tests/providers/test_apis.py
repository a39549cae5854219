"""Registry API: every endpoint's status and body, auth on every route, and the include_secrets rules."""
import pytest
from django.urls import reverse

from providers.models import Provider
from providers.secrets import decrypt_secrets
from providers.services import provider_create

pytestmark = pytest.mark.django_db

LIST = reverse("providers:provider-list")
TEMPLATES = reverse("providers:provider-templates")
CREATE = reverse("providers:provider-create")
REGISTER = reverse("providers:provider-register")
IMPORT = reverse("providers:provider-import")
EXPORT = reverse("providers:provider-export")


def detail(provider_id: str) -> str:
    return reverse("providers:provider-detail", args=[provider_id])


def remove(provider_id: str) -> str:
    return reverse("providers:provider-remove", args=[provider_id])


def check(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return response.json()


ROUTES = [("get", LIST), ("get", TEMPLATES), ("get", detail("local")), ("patch", detail("local")),
          ("post", CREATE), ("post", REGISTER), ("post", IMPORT), ("get", EXPORT), ("delete", remove("local"))]
WRITES = [route for route in ROUTES if route[0] != "get"] + [("get", EXPORT)]


def test_routes_are_the_documented_paths():
    assert [path for _, path in ROUTES] == [
        "/api/providers/", "/api/providers/templates", "/api/providers/local", "/api/providers/local",
        "/api/providers/create", "/api/providers/register", "/api/providers/import", "/api/providers/export",
        "/api/providers/remove/local"]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_gets_401_everywhere(templates, anon_client, method, path):
    body = check(getattr(anon_client, method)(path, {}, format="json"), 401)
    assert body["code"] == "not_authenticated"


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_non_staff_gets_403_on_writes_and_export(templates, user_client, method, path):
    body = check(getattr(user_client, method)(path, {}, format="json"), 403)
    assert body["code"] == "permission_denied"
    assert Provider.objects.count() == 1


def test_token_authentication(templates, staff):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff).key}")
    assert len(check(client.get(TEMPLATES), 200)) == 12


def test_templates_list_every_template_with_write_only_credentials(templates, user_client):
    body = check(user_client.get(TEMPLATES), 200)
    assert [t["id"] for t in body][:3] == ["local", "local_llm", "runpod"] and len(body) == 12
    aws = next(t for t in body if t["id"] == "aws")
    assert set(aws) == {"id", "name", "kind", "service", "base_url", "priority", "docs_url", "compatibility_note",
                        "meta", "auth_schema"}
    assert aws["auth_schema"]["properties"]["secret_key"]["writeOnly"] is True
    assert aws["docs_url"].startswith("https://docs.aws.amazon.com/")
    expected = {"runpod": {"api_key"}, "azure": {"client_secret"}, "google": {"service_account_json"},
                "unraid": {"api_token"}, "aws": {"access_key", "secret_key"}}
    for template in body:
        props = template["auth_schema"]["properties"]
        if template["id"] in expected:
            assert {name for name, p in props.items() if p.get("writeOnly")} == expected[template["id"]]


def test_list_is_sorted_paginated_and_shows_health(templates, user_client):
    provider_create(template_id="vast", provider_id="vast")
    provider_create(template_id="runpod", provider_id="runpod", config={"api_key": "sk-x"})
    body = check(user_client.get(LIST), 200)
    assert body["count"] == 3 and [p["id"] for p in body["results"]] == ["local", "runpod", "vast"]
    runpod = body["results"][1]
    assert runpod["secrets_set"] == ["api_key"] and runpod["config"] == {}
    assert runpod["health"] == "unverified" and runpod["available"] is False and runpod["last_health"] == {}
    assert check(user_client.get(LIST, {"limit": 1, "offset": 2}), 200)["results"][0]["id"] == "vast"


def test_list_runs_a_fixed_number_of_queries(templates, user_client, django_assert_max_num_queries):
    for n in range(30):
        provider_create(template_id="runpod", provider_id=f"rp-{n}")
    with django_assert_max_num_queries(2):  # count + page
        check(user_client.get(LIST), 200)


def test_detail_and_404(templates, user_client):
    body = check(user_client.get(detail("local")), 200)
    assert body["id"] == "local" and body["kind"] == "local" and body["template"] == "local"
    assert check(user_client.get(detail("ghost")), 404)["code"] == "provider_not_found"


def test_create_from_template(templates, staff_client):
    body = check(staff_client.post(CREATE, {"template_id": "lambda", "name": "Lambda East",
                                            "config": {"region": "us-east-1", "api_key": "sk-lambda"},
                                            "meta": {"regions": ["us-east"]}}, format="json"), 201)
    assert body["id"] == "lambda-east" and body["service"] == "lambda" and body["config"] == {"region": "us-east-1"}
    assert body["secrets_set"] == ["api_key"] and body["meta"]["regions"] == ["us-east"]
    assert body["meta"]["cost"]["hourly_usd"] > 0
    again = check(staff_client.post(CREATE, {"template_id": "lambda", "name": "Lambda East"}, format="json"), 201)
    assert again["id"] == "lambda-east-2"


def test_create_errors(templates, staff_client):
    body = check(staff_client.post(CREATE, {"template_id": "nope"}, format="json"), 400)
    assert body["code"] == "invalid" and "template_id" in body["extra"]["fields"]
    body = check(staff_client.post(CREATE, {"template_id": "runpod", "config": {"api_key": 1}}, format="json"), 400)
    assert body["extra"]["fields"]["config"] == ["api_key: must be of type string"]
    check(staff_client.post(CREATE, {"template_id": "runpod", "id": "rp"}, format="json"), 201)
    body = check(staff_client.post(CREATE, {"template_id": "runpod", "id": "rp"}, format="json"), 409)
    assert body["code"] == "provider_exists"
    body = check(staff_client.post(CREATE, {"template_id": "runpod", "priority": 2**40}, format="json"), 400)
    assert "priority" in body["extra"]["fields"]
    body = check(staff_client.post(CREATE, "[1, 2", content_type="application/json"), 400)
    assert body["code"] == "parse_error"


def test_register_creates_then_updates(templates, staff_client):
    definition = {"id": "gpu-box", "name": "GPU box", "service": "lan", "base_url": "http://10.0.0.5:8001",
                  "config": {"endpoint": "http://10.0.0.5:8001", "api_token": "tok-1"}}
    body = check(staff_client.post(REGISTER, definition, format="json"), 201)
    assert body["template"] == "unraid" and body["secrets_set"] == ["api_token"]
    body = check(staff_client.post(REGISTER, {**definition, "priority": 3, "config": {"endpoint": "http://x.lan"}},
                                   format="json"), 200)
    assert body["priority"] == 3 and body["secrets_set"] == ["api_token"]
    body = check(staff_client.post(REGISTER, {"id": "local", "kind": "remote"}, format="json"), 400)
    assert "kind" in body["extra"]["fields"]


def test_patch_keeps_and_clears_credentials(templates, staff_client):
    provider_create(template_id="runpod", provider_id="rp", config={"api_key": "sk-1"})
    body = check(staff_client.patch(detail("rp"), {"priority": 4, "active": False}, format="json"), 200)
    assert body["priority"] == 4 and body["active"] is False and body["secrets_set"] == ["api_key"]
    body = check(staff_client.patch(detail("rp"), {"config": {"api_key": None}}, format="json"), 200)
    assert body["secrets_set"] == []
    body = check(staff_client.patch(detail("rp"), {"base_url": "gopher://x"}, format="json"), 400)
    assert "base_url" in body["extra"]["fields"]
    check(staff_client.patch(detail("ghost"), {"name": "x"}, format="json"), 404)
    body = check(staff_client.patch(detail("rp"), {"id": "other", "created_at": "2000-01-01"}, format="json"), 200)
    assert body["id"] == "rp"


def test_put_is_not_allowed(templates, staff_client):
    assert check(staff_client.put(detail("local"), {}, format="json"), 405)["code"] == "method_not_allowed"


def test_import_accepts_document_object_or_list_and_flags_from_query_or_body(templates, staff_client):
    entry = {"id": "rp", "name": "RP", "service": "runpod", "base_url": "https://rest.runpod.io/v1"}
    body = check(staff_client.post(IMPORT, [entry], format="json"), 200)
    assert body == {"created": ["rp"], "updated": [], "skipped": [], "removed": []}
    body = check(staff_client.post(f"{IMPORT}?overwrite=false", {"providers": [entry]}, format="json"), 200)
    assert body["skipped"] == ["rp"]
    body = check(staff_client.post(IMPORT, {"version": 1, "exported_at": "x", "providers": [],
                                            "dry_run": True}, format="json"), 200)
    assert body == {"created": [], "updated": [], "skipped": [], "removed": []}
    body = check(staff_client.post(f"{IMPORT}?replace=true&dry_run=true", [
        {**entry, "id": "other"}], format="json"), 200)
    assert body["removed"] == ["rp"] and body["created"] == ["other"]
    assert Provider.objects.filter(id="rp").exists() and not Provider.objects.filter(id="other").exists()


@pytest.mark.parametrize("payload", ["text", 5, {"providers": "x"}, {"version": 2, "providers": []}, {}])
def test_import_rejects_malformed_documents(templates, staff_client, payload):
    assert check(staff_client.post(IMPORT, payload, format="json"), 400)["code"] == "invalid"


def test_import_errors_name_each_bad_entry(templates, staff_client):
    entries = [{"id": "ok", "name": "ok", "service": "runpod", "base_url": "https://a.example"},
               {"id": "bad", "name": "bad", "service": "runpod", "base_url": "https://u:p@a.example"}]
    body = check(staff_client.post(IMPORT, entries, format="json"), 400)
    assert body["code"] == "import_invalid"
    assert body["extra"]["errors"] == [{"index": 1, "id": "bad",
                                        "errors": {"base_url": ["must not contain a user name or password"]}}]


def test_remove(templates, staff_client):
    provider_create(template_id="runpod", provider_id="rp")
    assert check(staff_client.delete(remove("rp")), 200) == {"removed": "rp"}
    assert check(staff_client.delete(remove("rp")), 404)["code"] == "provider_not_found"
    body = check(staff_client.delete(remove("local")), 409)
    assert body["code"] == "provider_protected"
    assert Provider.objects.filter(id="local").exists()


def test_export_default_strips_credentials(templates, staff_client):
    provider_create(template_id="runpod", provider_id="rp", config={"api_key": "sk-never-exported"})
    response = staff_client.get(EXPORT)
    body = check(response, 200)
    assert response["Cache-Control"] == "no-store"
    assert body["version"] == 1 and body["exported_at"]
    assert [p["id"] for p in body["providers"]] == ["local", "rp"]
    assert "sk-never-exported" not in response.content.decode()


# include_secrets: reliability.md §1.2 L01-L10.
def _export_secrets(client, **meta):
    return client.get(EXPORT, {"include_secrets": "true"}, **meta)


@pytest.fixture
def secret_rp(templates):
    provider_create(template_id="runpod", provider_id="rp", config={"api_key": "sk-LOOPBACK"})


def test_l01_loopback_staff_gets_secrets_no_store_and_an_audit_line(secret_rp, staff_client, caplog):
    with caplog.at_level("INFO", logger="providers.audit"):
        response = _export_secrets(staff_client, REMOTE_ADDR="127.0.0.1")
    body = check(response, 200)
    assert response["Cache-Control"] == "no-store"
    assert next(p for p in body["providers"] if p["id"] == "rp")["config"] == {"api_key": "sk-LOOPBACK"}
    assert "1 credentials included" in caplog.text and "sk-LOOPBACK" not in caplog.text


@pytest.mark.parametrize(("proxies", "meta"), [
    (0, {"REMOTE_ADDR": "203.0.113.5"}),                                                       # L02
    (0, {"REMOTE_ADDR": "203.0.113.5", "HTTP_X_FORWARDED_FOR": "127.0.0.1"}),                  # L03
    (1, {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.5"}),                  # L04
    (1, {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "127.0.0.1, 203.0.113.5"}),       # L05
    (1, {"REMOTE_ADDR": "127.0.0.1"}),                                                         # L06
    (0, {"REMOTE_ADDR": "203.0.113.5", "HTTP_HOST": "localhost"}),                             # L07
    (2, {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "127.0.0.1"}),                    # too few hops
])
def test_l02_to_l07_non_loopback_clients_are_refused(secret_rp, staff_client, settings, proxies, meta):
    settings.COMFYVN_TRUSTED_PROXIES = proxies
    response = _export_secrets(staff_client, **meta)
    body = check(response, 403)
    assert body["code"] == "secret_export_forbidden" and "loopback" in body["message"]
    assert "sk-LOOPBACK" not in response.content.decode()


@pytest.mark.parametrize("address", ["::1", "::ffff:127.0.0.1", "127.0.0.2"])
def test_l08_loopback_forms_are_loopback(secret_rp, staff_client, address):
    check(_export_secrets(staff_client, REMOTE_ADDR=address), 200)


def test_l08_proxy_mode_trusts_the_proxy_appended_hop(secret_rp, staff_client, settings):
    settings.COMFYVN_TRUSTED_PROXIES = 1
    check(_export_secrets(staff_client, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.5, 127.0.0.1"), 200)


def test_l09_loopback_but_anonymous_or_non_staff(secret_rp, anon_client, user_client):
    check(_export_secrets(anon_client, REMOTE_ADDR="127.0.0.1"), 401)
    check(_export_secrets(user_client, REMOTE_ADDR="127.0.0.1"), 403)


@pytest.mark.parametrize(("flag", "allowed"), [("false", False), ("0", False), ("no", False), ("", False),
                                               ("1", True), ("true", True), ("TRUE", True)])
def test_l10_env_flag_is_strict_and_still_needs_staff(secret_rp, staff_client, user_client, monkeypatch, flag,
                                                       allowed):
    import importlib

    from django.conf import settings as django_settings

    import comfyvn_site.settings.base as base

    monkeypatch.setenv("COMFYVN_ALLOW_SECRET_EXPORT", flag)
    parsed = importlib.reload(base).COMFYVN_ALLOW_SECRET_EXPORT
    monkeypatch.setattr(django_settings, "COMFYVN_ALLOW_SECRET_EXPORT", parsed)
    assert parsed is allowed
    check(_export_secrets(staff_client, REMOTE_ADDR="203.0.113.5"), 200 if allowed else 403)
    check(_export_secrets(user_client, REMOTE_ADDR="203.0.113.5"), 403)


def test_export_then_import_into_an_empty_registry_restores_credentials(secret_rp, staff_client):
    document = check(_export_secrets(staff_client, REMOTE_ADDR="127.0.0.1"), 200)
    Provider.objects.exclude(id="local").delete()
    check(staff_client.post(IMPORT, document, format="json"), 200)
    assert decrypt_secrets(Provider.objects.get(id="rp").secrets_ciphertext) == {"api_key": "sk-LOOPBACK"}


def test_openapi_schema_lists_every_operation_and_write_only_credentials(user_client):
    response = user_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    schema = check(response, 200)
    operations = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert {("/api/providers/", "get"), ("/api/providers/templates", "get"), ("/api/providers/{id}", "get"),
            ("/api/providers/{id}", "patch"), ("/api/providers/create", "post"), ("/api/providers/register", "post"),
            ("/api/providers/import", "post"), ("/api/providers/export", "get"),
            ("/api/providers/remove/{id}", "delete")} <= operations
    for name in ("ProviderCreateInputRequest", "ProviderRegisterInputRequest", "PatchedProviderUpdateInputRequest"):
        config = schema["components"]["schemas"][name]["properties"]["config"]
        assert config["writeOnly"] is True
        for credential in ("api_key", "secret_key", "client_secret", "service_account_json", "api_token"):
            assert config["properties"][credential]["writeOnly"] is True


def test_credentials_are_write_only_on_the_field_itself():
    from providers.apis import (
        ProviderCreateInputSerializer,
        ProviderRegisterInputSerializer,
        ProviderUpdateInputSerializer,
    )

    for serializer in (ProviderCreateInputSerializer(), ProviderRegisterInputSerializer(),
                       ProviderUpdateInputSerializer()):
        assert serializer.fields["config"].write_only is True


def test_reserved_words_fall_through_the_detail_route(templates, user_client, settings):
    settings.DEBUG = False
    response = user_client.get("/api/providers/health")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
