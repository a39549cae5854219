"""Acceptance: one bad entry in 1,001 changes nothing; export -> import(replace) -> export round-trips."""
import pytest
from django.urls import reverse

from providers.models import Provider
from providers.secrets import decrypt_secrets
from providers.services import provider_create

pytestmark = pytest.mark.django_db

IMPORT = reverse("providers:provider-import")
EXPORT = reverse("providers:provider-export")


def _seed() -> None:
    provider_create(template_id="aws", provider_id="aws", config={"access_key": "AK-1", "region": "us-east-1",
                                                                   "secret_key": {"env": "AWS_SECRET"}})
    provider_create(template_id="runpod", provider_id="rp", config={"api_key": "sk-rp"}, priority=3)
    provider_create(template_id="onprem_ssh", provider_id="ssh", config={"hostname": "gpu1", "port": 2222})


def _export(client) -> dict:
    response = client.get(EXPORT)
    assert response.status_code == 200, response.content
    return response.json()


def _rows() -> list[dict]:
    return list(Provider.objects.order_by("id").values())


def _secrets() -> dict:
    return {p.id: decrypt_secrets(p.secrets_ciphertext) for p in Provider.objects.all()}


def test_one_bad_entry_in_1001_is_named_and_nothing_changes(templates, staff_client):
    _seed()
    before, rows_before = _export(staff_client), _rows()
    entries = [{"id": f"bulk-{n:04d}", "name": f"Bulk {n}", "service": "runpod",
                "base_url": "https://rest.runpod.io/v1", "priority": n % 50, "config": {"api_key": f"k-{n}"}}
               for n in range(1000)]
    entries.insert(637, {"id": "bulk-bad", "name": "Bad", "service": "runpod", "base_url": "javascript:alert(1)"})
    response = staff_client.post(f"{IMPORT}?replace=true", {"version": 1, "providers": entries}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "import_invalid" and "1 of 1001" in body["message"]
    assert body["extra"]["errors"] == [{"index": 637, "id": "bulk-bad",
                                        "errors": {"base_url": ["must use the http or https scheme"]}}]
    after = _export(staff_client)
    assert after["providers"] == before["providers"]
    assert _rows() == rows_before


def test_the_same_1000_good_entries_import_in_one_go(templates, staff_client):
    entries = [{"id": f"bulk-{n:04d}", "name": f"Bulk {n}", "service": "runpod",
                "base_url": "https://rest.runpod.io/v1", "config": {"api_key": f"k-{n}"}} for n in range(1000)]
    body = staff_client.post(IMPORT, entries, format="json").json()
    assert len(body["created"]) == 1000
    assert decrypt_secrets(Provider.objects.get(id="bulk-0999").secrets_ciphertext) == {"api_key": "k-999"}


def test_export_import_replace_export_round_trips_with_secrets_kept(templates, staff_client):
    _seed()
    Provider.objects.filter(id="rp").update(last_health={"ok": True, "latency_ms": 12}, consecutive_failures=0)
    first, secrets_before = _export(staff_client), _secrets()
    response = staff_client.post(f"{IMPORT}?replace=true", first, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"created": [], "updated": ["local", "rp", "aws", "ssh"], "skipped": [], "removed": []}
    second = _export(staff_client)
    assert second["providers"] == first["providers"]
    assert _secrets() == secrets_before
    assert Provider.objects.get(id="rp").last_health == {"ok": True, "latency_ms": 12}
