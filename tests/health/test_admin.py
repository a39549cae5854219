"""Admin: read-only history and the "check now" action."""
import pytest
from django.contrib.admin.sites import AdminSite
from django.test import RequestFactory
from django.urls import reverse

from health.admin import HealthCheckAdmin
from health.admin_actions import check_now
from health.models import HealthCheck
from providers.models import Provider
from providers.secrets import encrypt_secrets
from tests.factories import ProviderFactory
from tests.health.vendors import GOOD_TOKEN, bearer_route

pytestmark = pytest.mark.django_db


class _ProviderAdmin:
    def __init__(self):
        self.messages = []

    def message_user(self, request, message, level):
        self.messages.append((level, message))


def test_check_now_action_checks_the_selection(fake_server, loopback_allowed, staff, settings):
    settings.HEALTH_SWEEP_CONCURRENCY = 1
    bearer_route("GET", "/v1/pods", b"[]")(fake_server)
    ProviderFactory(id="rp", service="runpod", base_url=fake_server.url + "/v1",
                    secrets_ciphertext=encrypt_secrets({"api_key": GOOD_TOKEN}))
    ProviderFactory(id="not-selected", service="runpod", base_url=fake_server.url + "/v1")
    request = RequestFactory().post("/admin/")
    request.user = staff
    modeladmin = _ProviderAdmin()
    check_now(modeladmin, request, Provider.objects.filter(pk="rp"))
    assert list(HealthCheck.objects.values_list("provider_id", "status", "trigger")) == [("rp", "ok", "manual")]
    assert "Checked 1 provider(s)" in modeladmin.messages[0][1] and "ok: 1" in modeladmin.messages[0][1]


def test_history_admin_is_read_only_and_lists(client, fake_server, loopback_allowed):
    from django.contrib.auth import get_user_model

    admin_user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests")
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
