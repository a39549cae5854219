"""The curated template file syncs idempotently and carries a real JSON Schema per template."""
import pytest
from django.core.management import CommandError, call_command
from jsonschema import Draft202012Validator

from providers.models import Provider, ProviderTemplate
from providers.secrets import secret_fields
from providers.services import provider_template_specs_load, provider_template_sync

EXPECTED_IDS = {"local", "local_llm", "runpod", "vast", "lambda", "aws", "azure", "coreweave", "google",
                "paperspace", "unraid", "onprem_ssh"}


@pytest.mark.django_db
def test_sync_creates_twelve_templates_then_changes_nothing():
    specs = provider_template_specs_load()
    first = provider_template_sync(specs=specs)
    second = provider_template_sync(specs=specs)
    assert set(first.created) == EXPECTED_IDS
    assert second.created == [] and second.updated == [] and set(second.unchanged) == EXPECTED_IDS
    assert Provider.objects.filter(id="local", kind="local").exists()


@pytest.mark.django_db
def test_sync_reports_an_updated_template():
    specs = provider_template_specs_load()
    provider_template_sync(specs=specs)
    specs[2]["priority"] = 11
    report = provider_template_sync(specs=specs)
    assert report.updated == [specs[2]["id"]]


def test_every_template_schema_is_valid_and_marks_credentials_write_only():
    for spec in provider_template_specs_load():
        Draft202012Validator.check_schema(spec["auth_schema"])
        props = spec["auth_schema"]["properties"]
        for name in ("api_key", "access_key", "secret_key", "client_secret", "api_token", "service_account_json"):
            if name in props:
                assert props[name].get("writeOnly") is True, (spec["id"], name)
        assert set(spec["auth_schema"].get("required", [])) <= set(props)
    aws = next(s for s in provider_template_specs_load() if s["id"] == "aws")
    assert secret_fields(aws["auth_schema"]) == {"access_key", "secret_key"}


@pytest.mark.django_db
def test_sync_command_prints_counts_and_supports_dry_run(capsys):
    call_command("sync_provider_templates", "--dry-run")
    assert "12 created" in capsys.readouterr().out
    assert ProviderTemplate.objects.count() == 0
    call_command("sync_provider_templates")
    call_command("sync_provider_templates")
    assert "12 unchanged" in capsys.readouterr().out.splitlines()[-1]


@pytest.mark.django_db
def test_sync_command_rejects_invalid_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"templates": [{"id": "Not A Slug!", "kind": "remote"}]}')
    with pytest.raises(CommandError):
        call_command("sync_provider_templates", "--file", str(bad))
    assert ProviderTemplate.objects.count() == 0
