"""Admin: read-only history and the "check now" action."""
import pytest
from django.contrib.admin.sites import AdminSite
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.urls import reverse

from health.admin import HealthCheckAdmin
from health.models import HealthCheck
from providers.secrets import encrypt_secrets
from tests.factories import ProviderFactory
from tests.health.vendors import GOOD_TOKEN, bearer_route

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user():
    return get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests")


def test_check_now_action_on_the_provider_changelist(client, admin_user, fake_server, loopback_allowed, settings):
    settings.HEALTH_SWEEP_CONCURRENCY = 1  # the test transaction is only visible to this thread
    bearer_route("GET", "/v1/pods", b"[]")(fake_server)
    ProviderFactory(id="rp", service="runpod", base_url=fake_server.url + "/v1",
                    secrets_ciphertext=encrypt_secrets({"api_key": GOOD_TOKEN}))
    ProviderFactory(id="not-selected", service="runpod", base_url=fake_server.url + "/v1")
    client.force_login(admin_user)
    response = client.post(reverse("admin:providers_provider_changelist"),
                           {"action": "check_now", "_selected_action": ["rp"]}, follow=True)
    assert response.status_code == 200
    assert list(HealthCheck.objects.values_list("provider_id", "status", "trigger")) == [("rp", "ok", "manual")]
    assert "Checked 1 provider(s)" in response.content.decode() and "ok: 1" in response.content.decode()


def test_history_admin_is_read_only_and_lists(client, admin_user, fake_server):
    provider = ProviderFactory(id="rp", service="runpod", base_url=fake_server.url + "/v1")
    HealthCheck.objects.create(provider=provider, service="runpod", status="no_credentials",
                               detail="credential 'api_key' is not configured", checked_at="2026-01-01T00:00Z")
    request = RequestFactory().get("/")
    request.user = admin_user
    model_admin = HealthCheckAdmin(HealthCheck, AdminSite())
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    client.force_login(admin_user)
    response = client.get(reverse("admin:health_healthcheck_changelist"))
    assert response.status_code == 200 and b"no_credentials" in response.content
