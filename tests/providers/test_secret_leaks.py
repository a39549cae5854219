"""Acceptance: a distinct credential planted in every secret field of every template never comes back out.

Driven through list, detail, create, register, PATCH, import (report and errors), default export, the admin
change page, and every log record at DEBUG.
"""
import logging

import pytest
from django.urls import reverse

from providers.models import Provider, ProviderTemplate
from providers.secrets import decrypt_secrets, secret_fields
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _planted(phase: str) -> dict[str, dict[str, str]]:
    """{template_id: {secret_field: value}}, unique per phase, template and field."""
    return {template.id: {name: f"sk-LEAK-{phase}-{template.id}-{name}-93be1"
                          for name in sorted(secret_fields(template.auth_schema))}
            for template in ProviderTemplate.objects.all()}


def test_no_planted_credential_appears_anywhere(templates, staff_client, client, caplog):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    caplog.set_level(logging.DEBUG)
    phases = {phase: _planted(phase) for phase in ("create", "register", "patch", "import", "bad")}
    assert sum(len(fields) for fields in phases["create"].values()) == 12
    seen: list[str] = []

    def call(method, url, data=None, status=200):
        response = getattr(staff_client, method)(url, data, format="json")
        assert response.status_code == status, (url, response.content)
        seen.append(response.content.decode())
        return response.json()

    for template_id, secrets in phases["create"].items():
        call("post", reverse("providers:provider-create"),
             {"template_id": template_id, "id": f"c-{template_id}".replace("_", "-"), "config": secrets}, 201)
        call("post", reverse("providers:provider-create"),
             {"template_id": template_id, "base_url": "ftp://nope", "config": {**secrets, "bogus": 1}}, 400)
    for template_id, secrets in phases["register"].items():
        template = ProviderTemplate.objects.get(id=template_id)
        call("post", reverse("providers:provider-register"),
             {"id": f"r-{template_id}".replace("_", "-"), "name": template_id, "service": template.service,
              "kind": template.kind, "base_url": template.base_url, "template": template_id, "config": secrets}, 201)
    for template_id, secrets in phases["patch"].items():
        call("patch", reverse("providers:provider-detail", args=[f"c-{template_id}".replace("_", "-")]),
             {"config": secrets, "name": f"patched {template_id}"})
    entries = [{"id": f"i-{template_id}".replace("_", "-"), "name": template_id, "template": template_id,
                "service": ProviderTemplate.objects.get(id=template_id).service,
                "base_url": ProviderTemplate.objects.get(id=template_id).base_url, "config": secrets}
               for template_id, secrets in phases["import"].items()]
    bad = [{**entry, "id": entry["id"] + "-bad", "base_url": "https://user:pw@x.example", "config": secrets}
           for entry, secrets in zip(entries, phases["bad"].values(), strict=True)]
    body = call("post", reverse("providers:provider-import"), [*entries, *bad], 400)
    assert len(body["extra"]["errors"]) == len(bad)
    assert call("post", reverse("providers:provider-import"), entries)["created"]
    call("get", reverse("providers:provider-list"), {"limit": 1000})
    for provider_id in Provider.objects.values_list("id", flat=True):
        call("get", reverse("providers:provider-detail", args=[provider_id]))
        page = client.get(reverse("admin:providers_provider_change", args=[provider_id]))
        assert page.status_code == 200
        seen.append(page.content.decode())
    call("get", reverse("providers:provider-export"))
    seen.extend(record.getMessage() for record in caplog.records)

    text = "\n".join(seen)
    planted = [value for phase in phases.values() for fields in phase.values() for value in fields.values()]
    leaked = [value for value in planted if value in text]
    assert leaked == []
    # The values did arrive: every planted credential of every accepted phase is stored encrypted.
    stored = [value for ciphertext in Provider.objects.values_list("secrets_ciphertext", flat=True)
              for value in decrypt_secrets(ciphertext).values()]
    assert {value for phase in ("register", "patch", "import") for fields in phases[phase].values()
            for value in fields.values()} <= set(stored)
