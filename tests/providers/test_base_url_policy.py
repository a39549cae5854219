"""Save-time half of the outbound policy: an address the health checker may never call is refused at create,
register, PATCH and import, before anything is written (reliability.md L11, S01, S15)."""
import pytest
from django.urls import reverse

from providers.models import Provider

CREATE = reverse("providers:provider-create")
REGISTER = reverse("providers:provider-register")
IMPORT = reverse("providers:provider-import")

REFUSED = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:8000/api/providers/export?include_secrets=1",
    "https://2130706433/",
    "https://[::ffff:127.0.0.1]/",
    "https://10.0.0.5/",
    "https://metadata.google.internal/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_cloud_provider_cannot_point_at_internal_addresses(templates, staff_client, url):
    response = staff_client.post(CREATE, {"template_id": "runpod", "id": "rp-x", "base_url": url}, format="json")
    assert response.status_code == 400, response.content
    assert "base_url" in response.json()["extra"]["fields"], response.json()
    assert not Provider.objects.filter(id="rp-x").exists()


def test_register_and_patch_are_checked_too(templates, staff_client):
    staff_client.post(CREATE, {"template_id": "runpod", "id": "rp"}, format="json")
    patch = staff_client.patch(reverse("providers:provider-detail", args=["rp"]),
                               {"base_url": "http://169.254.169.254/"}, format="json")
    assert patch.status_code == 400, patch.content
    register = staff_client.post(REGISTER, {"id": "rp2", "name": "RP2", "service": "runpod",
                                            "base_url": "http://127.0.0.1:9/"}, format="json")
    assert register.status_code == 400, register.content
    assert Provider.objects.get(id="rp").base_url == "https://rest.runpod.io/v1"


def test_import_with_one_internal_address_writes_nothing(templates, staff_client):
    good = {"id": "rp-ok", "name": "RP", "kind": "remote", "service": "runpod", "base_url": "https://rest.runpod.io/v1"}
    bad = {**good, "id": "rp-bad", "base_url": "http://169.254.169.254/"}
    response = staff_client.post(IMPORT, {"providers": [good, bad]}, format="json")
    assert response.status_code == 400, response.content
    assert "rp-bad" in str(response.json())
    assert not Provider.objects.filter(id__in=["rp-ok", "rp-bad"]).exists()


def test_lan_and_ssh_services_may_use_private_addresses(templates, staff_client):
    lan = staff_client.post(CREATE, {"template_id": "unraid", "id": "nas", "base_url": "http://192.168.1.20:8001"},
                            format="json")
    ssh = staff_client.post(CREATE, {"template_id": "onprem_ssh", "id": "rack", "base_url": "ssh://10.1.2.3"},
                            format="json")
    assert lan.status_code == 201, lan.content
    assert ssh.status_code == 201, ssh.content
    metadata = staff_client.post(CREATE, {"template_id": "unraid", "id": "nas2",
                                          "base_url": "http://169.254.169.254/"}, format="json")
    assert metadata.status_code == 400, metadata.content
