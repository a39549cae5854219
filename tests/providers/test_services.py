"""Registry write services: create from template, upsert, PATCH, remove, import and export."""
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from comfyvn_site.exceptions import Conflict, ImportInvalid, ProviderNotFound, ProviderProtected, SecretExportForbidden
from providers.models import Provider
from providers.secrets import decrypt_secrets, resolve_secret
from providers.services import (
    provider_create,
    provider_export,
    provider_import,
    provider_register,
    provider_remove,
    provider_update,
)
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def _secrets(provider_id: str) -> dict:
    return decrypt_secrets(Provider.objects.get(id=provider_id).secrets_ciphertext)


def test_create_merges_template_meta_under_given_meta_and_encrypts_credentials(templates):
    provider = provider_create(template_id="aws", name="AWS prod", meta={"cost": {"hourly_usd": 2.5}},
                               config={"region": "eu-west-1", "secret_key": "s3cr3t", "access_key": {"env": "AK"}})
    assert provider.id == "aws-prod" and provider.kind == "remote" and provider.service == "aws"
    assert provider.meta["cost"] == {"hourly_usd": 2.5, "billing_increment_minutes": 60}
    assert provider.meta["gpu"] == "g5.xlarge"
    assert provider.config == {"region": "eu-west-1"}
    assert provider.secrets_set == ["access_key", "secret_key"]
    stored = Provider.objects.get(id="aws-prod")
    assert "s3cr3t" not in stored.secrets_ciphertext and stored.secrets_ciphertext.startswith("gAAAA")
    assert _secrets("aws-prod") == {"secret_key": "s3cr3t", "access_key": {"env": "AK"}}


def test_create_allows_placeholders_and_empty_config(templates):
    assert provider_create(template_id="runpod").secrets_set == []
    assert provider_create(template_id="azure", config={"tenant_id": "placeholder"}).config == {
        "tenant_id": "placeholder"}


def test_create_slugs_the_name_and_suffixes_collisions(templates):
    ids = [provider_create(template_id="unraid", name="unRAID / LAN Node").id for _ in range(3)]
    assert ids == ["unraid-lan-node", "unraid-lan-node-2", "unraid-lan-node-3"]
    assert provider_create(template_id="runpod", name="Export").id == "export-2"


def test_create_with_taken_id_is_a_conflict(templates):
    provider_create(template_id="runpod", provider_id="rp")
    with pytest.raises(Conflict) as exc:
        provider_create(template_id="vast", provider_id="rp")
    assert exc.value.code == "provider_exists" and exc.value.status == 409


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"template_id": "nope"}, "template_id"),
    ({"template_id": "runpod", "config": {"api_key": 5}}, "config"),
    ({"template_id": "runpod", "config": {"unknown": "x"}}, "config"),
    ({"template_id": "runpod", "config": {"api_key": {"env": "1BAD NAME"}}}, "config"),
    ({"template_id": "runpod", "base_url": "ftp://example.com"}, "base_url"),
    ({"template_id": "runpod", "base_url": "https://user:pw@example.com"}, "base_url"),
    ({"template_id": "runpod", "base_url": "https://example.com/" + "a" * 2048}, "base_url"),
    ({"template_id": "runpod", "base_url": "https://exa mple.com"}, "base_url"),
    ({"template_id": "runpod", "base_url": "ssh://host"}, "base_url"),
    ({"template_id": "runpod", "meta": {"min_vram_gb": -1}}, "meta"),
    ({"template_id": "runpod", "meta": {"cost": {"hourly_usd": float("inf")}}}, "meta"),
    ({"template_id": "runpod", "meta": {"min_vram_gb": "lots"}}, "meta"),
    ({"template_id": "runpod", "meta": {"min_vram_gb": 80, "max_vram_gb": 24}}, "meta"),
    ({"template_id": "runpod", "provider_id": "Not A Slug"}, "id"),
    ({"template_id": "runpod", "provider_id": "x" * 65}, "id"),
    ({"template_id": "runpod", "provider_id": "import"}, "id"),
    ({"template_id": "runpod", "priority": -1}, "priority"),
])
def test_create_rejects_invalid_input_and_writes_nothing(templates, kwargs, field):
    with pytest.raises(ValidationError) as exc:
        provider_create(**kwargs)
    assert field in exc.value.message_dict
    assert Provider.objects.count() == 1  # only `local`


def test_validation_errors_never_echo_a_credential(templates):
    with pytest.raises(ValidationError) as exc:
        provider_create(template_id="aws", config={"secret_key": ["sk-ECHO-ME"], "access_key": ""})
    assert "sk-ECHO-ME" not in str(exc.value.message_dict)


def test_ssh_service_takes_ssh_urls(templates):
    assert provider_create(template_id="onprem_ssh", base_url="ssh://gpu-1.lan:2222").base_url.startswith("ssh://")


def test_register_upserts_and_keeps_omitted_credentials(templates):
    provider, created = provider_register(definition={"id": "rp", "name": "RP", "service": "runpod",
                                                      "base_url": "https://rest.runpod.io/v1",
                                                      "config": {"api_key": "sk-keep"}})
    assert created and provider.template_id == "runpod"
    provider, created = provider_register(definition={"id": "rp", "name": "RunPod EU", "priority": 5,
                                                      "service": "runpod", "base_url": "https://rest.runpod.io/v1"})
    assert not created and provider.name == "RunPod EU" and provider.priority == 5
    assert _secrets("rp") == {"api_key": "sk-keep"}


def test_register_without_template_takes_no_config(templates):
    provider, _ = provider_register(definition={"name": "Custom box", "service": "custom",
                                                "base_url": "https://box.example.com"})
    assert provider.id == "custom-box" and provider.template_id is None
    with pytest.raises(ValidationError) as exc:
        provider_register(definition={"name": "Custom box", "service": "custom", "config": {"api_key": "k"}})
    assert "config" in exc.value.message_dict


def test_register_cannot_make_local_remote(templates):
    with pytest.raises(ValidationError) as exc:
        provider_register(definition={"id": "local", "kind": "remote"})
    assert "kind" in exc.value.message_dict
    assert Provider.objects.get(id="local").kind == "local"


def test_update_keeps_omitted_secret_and_clears_null(templates):
    provider_create(template_id="aws", provider_id="aws", config={"access_key": "AK", "secret_key": "SK",
                                                                   "region": "us-east-1"})
    provider = provider_update(provider_id="aws", changes={"name": "Renamed", "config": {"region": "eu-west-1"}})
    assert provider.name == "Renamed" and provider.config == {"region": "eu-west-1"}
    assert _secrets("aws") == {"access_key": "AK", "secret_key": "SK"}
    provider = provider_update(provider_id="aws", changes={"config": {"secret_key": None, "region": None}})
    assert provider.secrets_set == ["access_key"] and provider.config == {}
    assert _secrets("aws") == {"access_key": "AK"}


def test_update_deep_merges_meta_and_does_not_touch_health_fields(templates):
    provider_create(template_id="runpod", provider_id="rp")
    Provider.objects.filter(id="rp").update(last_health={"ok": True}, consecutive_failures=2)
    provider_update(provider_id="rp", changes={"meta": {"cost": {"hourly_usd": 0.5}}})
    stored = Provider.objects.get(id="rp")
    assert stored.meta["cost"] == {"hourly_usd": 0.5, "billing_increment_minutes": 1}
    assert stored.last_health == {"ok": True} and stored.consecutive_failures == 2


def test_update_unknown_provider_is_not_found(templates):
    with pytest.raises(ProviderNotFound):
        provider_update(provider_id="ghost", changes={"name": "x"})


def test_remove_deletes_and_protects_local(templates):
    provider_create(template_id="runpod", provider_id="rp")
    provider_remove(provider_id="rp")
    assert not Provider.objects.filter(id="rp").exists()
    with pytest.raises(ProviderNotFound):
        provider_remove(provider_id="rp")
    with pytest.raises(ProviderProtected) as exc:
        provider_remove(provider_id="local")
    assert exc.value.code == "provider_protected" and exc.value.status == 409


def _entry(provider_id: str, **extra) -> dict:
    return {"id": provider_id, "name": provider_id.title(), "service": "runpod",
            "base_url": "https://rest.runpod.io/v1", **extra}


def test_import_reports_created_updated_skipped_removed(templates):
    provider_create(template_id="runpod", provider_id="old")
    provider_create(template_id="runpod", provider_id="kept")
    report = provider_import(entries=[_entry("kept"), _entry("new")], replace=True)
    assert (report.created, report.updated, report.skipped, report.removed) == (["new"], ["kept"], [], ["old"])
    assert set(Provider.objects.values_list("id", flat=True)) == {"local", "kept", "new"}
    report = provider_import(entries=[_entry("kept", name="Changed")], overwrite=False)
    assert report.skipped == ["kept"] and Provider.objects.get(id="kept").name == "Kept"


def test_import_dry_run_reports_and_writes_nothing(templates):
    report = provider_import(entries=[_entry("new")], replace=True, dry_run=True)
    assert report.created == ["new"] and report.removed == []
    assert list(Provider.objects.values_list("id", flat=True)) == ["local"]


def test_import_lists_every_bad_entry_and_writes_nothing(templates):
    entries = [_entry("good"), _entry("bad-url", base_url="file:///etc/passwd"), "not an object",
               _entry("good"), {"id": "local", "kind": "remote"}, _entry("typo", prioirty=3),
               _entry("typed", priority="high", active="yes")]
    with pytest.raises(ImportInvalid) as exc:
        provider_import(entries=entries)
    errors = exc.value.extra["errors"]
    assert [(e["index"], e["id"]) for e in errors] == [(1, "bad-url"), (2, None), (3, "good"), (4, "local"),
                                                       (5, "typo"), (6, "typed")]
    assert set(errors[4]["errors"]) == {"prioirty"} and set(errors[5]["errors"]) == {"priority", "active"}
    assert list(Provider.objects.values_list("id", flat=True)) == ["local"]


def test_import_keeps_local_and_stored_secrets(templates):
    provider_create(template_id="runpod", provider_id="rp", config={"api_key": "sk-stored"})
    report = provider_import(entries=[_entry("rp", config={})], replace=True)
    assert report.removed == [] and _secrets("rp") == {"api_key": "sk-stored"}
    assert Provider.objects.filter(id="local").exists()
    provider_import(entries=[_entry("rp", config={"api_key": None})])
    assert _secrets("rp") == {}


def test_import_replace_with_empty_list_is_refused(templates):
    with pytest.raises(ValidationError):
        provider_import(entries=[], replace=True)


def test_export_strips_literal_secrets_keeps_env_references(templates, staff):
    provider_create(template_id="aws", provider_id="aws", config={"access_key": "AK-literal",
                                                                   "secret_key": {"env": "AWS_SECRET"}})
    entry = next(p for p in provider_export(actor=staff)["providers"] if p["id"] == "aws")
    assert entry["config"] == {"secret_key": {"env": "AWS_SECRET"}}
    document = provider_export(actor=staff, include_secrets=True, from_loopback=True)
    assert document["version"] == 1
    entry = next(p for p in document["providers"] if p["id"] == "aws")
    assert entry["config"] == {"access_key": "AK-literal", "secret_key": {"env": "AWS_SECRET"}}


def test_export_with_secrets_needs_staff_and_loopback_or_flag(templates, settings):
    user, staff = UserFactory(), StaffFactory()
    with pytest.raises(SecretExportForbidden):
        provider_export(actor=user, include_secrets=True, from_loopback=True)
    with pytest.raises(SecretExportForbidden):
        provider_export(actor=staff, include_secrets=True, from_loopback=False)
    settings.COMFYVN_ALLOW_SECRET_EXPORT = True
    assert provider_export(actor=staff, include_secrets=True)["version"] == 1
    with pytest.raises(SecretExportForbidden):
        provider_export(actor=user, include_secrets=True)


def test_export_is_audited_without_values(templates, staff, caplog):
    provider_create(template_id="runpod", provider_id="rp", config={"api_key": "sk-AUDIT"})
    with caplog.at_level("INFO", logger="providers.audit"):
        provider_export(actor=staff, include_secrets=True, from_loopback=True)
    assert f"by {staff.username}: 2 providers, 1 credentials included" in caplog.text
    assert "sk-AUDIT" not in caplog.text


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks are PostgreSQL's")
def test_concurrent_replace_imports_serialise(templates):
    """Two replace imports race; the registry ends equal to exactly one file, never a mix."""
    files = {"a": [_entry(f"a-{n}") for n in range(40)], "b": [_entry(f"b-{n}") for n in range(40)]}
    barrier = threading.Barrier(2)

    def run(name):
        barrier.wait()
        try:
            provider_import(entries=files[name], replace=True)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(name,)) for name in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = set(Provider.objects.exclude(id="local").values_list("id", flat=True))
    assert ids in ({e["id"] for e in files["a"]}, {e["id"] for e in files["b"]})


def test_reimporting_the_same_entry_rewrites_nothing(templates):
    provider_import(entries=[_entry("rp", config={"api_key": "sk-same"})])
    before = Provider.objects.values("updated_at", "secrets_ciphertext").get(id="rp")
    report = provider_import(entries=[_entry("rp", config={"api_key": "sk-same"})])
    assert report.updated == ["rp"]
    assert Provider.objects.values("updated_at", "secrets_ciphertext").get(id="rp") == before
    provider_import(entries=[_entry("rp", name="Renamed")])
    after = Provider.objects.get(id="rp")
    assert after.name == "Renamed" and after.updated_at > before["updated_at"]
    assert after.secrets_ciphertext == before["secrets_ciphertext"]


@pytest.mark.parametrize("name", ["SECRET_KEY", "DATABASE_URL", "COMFYVN_SECRETS_KEY", "CELERY_BROKER_URL"])
def test_an_env_reference_may_not_name_the_services_own_settings(templates, name, monkeypatch):
    monkeypatch.setenv(name, "the-server-secret")
    with pytest.raises(ValidationError) as refused:
        provider_create(template_id="runpod", provider_id="rp", config={"api_key": {"env": name}})
    assert "the service's own settings" in str(refused.value) and "the-server-secret" not in str(refused.value)
    assert not Provider.objects.filter(id="rp").exists()
    # A reference stored before this rule existed resolves to nothing, so a health check never sends it.
    assert resolve_secret({"env": name}) is None
    monkeypatch.setenv("TEST_RUNPOD_KEY", "sk-operator")
    assert resolve_secret({"env": "TEST_RUNPOD_KEY"}) == "sk-operator"
