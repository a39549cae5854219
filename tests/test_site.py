"""Site-wide behaviour: liveness, auth on /api/, the JSON error contract, body size limit."""
import pytest
from django.core.management import call_command


def test_healthz_is_public(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_unknown_url_is_json_404(client, settings):
    settings.DEBUG = False
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_oversized_body_is_413_json(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post("/api/providers/import", data="x" * 2000, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


@pytest.mark.django_db
def test_bootstrap_admin_creates_admin_from_env(monkeypatch, capsys):
    from django.contrib.auth import get_user_model

    monkeypatch.setenv("COMFYVN_ADMIN_USER", "boss")
    monkeypatch.setenv("COMFYVN_ADMIN_PASSWORD", "a-long-password-123")
    call_command("bootstrap_admin")
    call_command("bootstrap_admin")
    assert get_user_model().objects.get(username="boss").is_superuser
    assert "a-long-password-123" not in capsys.readouterr().out


@pytest.mark.django_db
def test_bootstrap_admin_without_env_explains(monkeypatch, capsys):
    monkeypatch.delenv("COMFYVN_ADMIN_USER", raising=False)
    call_command("bootstrap_admin")
    assert "createsuperuser" in capsys.readouterr().out
