"""API: GET /api/providers/{id}/health (history) and POST (check now)."""
import pytest
from django.urls import reverse

from health.models import HealthCheck
from providers.secrets import encrypt_secrets
from tests.factories import ProviderFactory
from tests.health.vendors import GOOD_TOKEN, bearer_route

pytestmark = pytest.mark.django_db


def url(provider_id: str) -> str:
    return reverse("health:provider-health", args=[provider_id])


@pytest.fixture
def provider(fake_server, loopback_allowed):
    bearer_route("GET", "/v1/pods", b"[]")(fake_server)
    return ProviderFactory(id="rp", service="runpod", base_url=fake_server.url + "/v1",
                           secrets_ciphertext=encrypt_secrets({"api_key": GOOD_TOKEN}))


def test_staff_check_now_returns_the_recorded_check(staff_client, provider):
    response = staff_client.post(url("rp"), {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["ok"], body["http_status"], body["provider"]) == ("ok", True, 200, "rp")
    assert GOOD_TOKEN not in response.content.decode()
    provider.refresh_from_db()
    assert provider.available


def test_queued_check_now_answers_202_and_the_worker_records_it(staff_client, provider,
                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url("rp"), {"queue": True}, format="json")
    assert response.status_code == 202, response.content
    assert response.json() == {"provider_id": "rp", "queued": True}
    assert HealthCheck.objects.get().status == "ok"


def test_check_now_is_staff_only(user_client, anon_client, provider):
    assert user_client.post(url("rp"), {}, format="json").status_code == 403
    assert anon_client.post(url("rp"), {}, format="json").status_code in (401, 403)
    assert HealthCheck.objects.count() == 0


def test_check_now_of_an_unknown_provider_is_404(staff_client):
    response = staff_client.post(url("nope"), {}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "provider_not_found"


def test_bad_input_is_400_and_checks_nothing(staff_client, provider):
    response = staff_client.post(url("rp"), {"queue": "maybe"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid", response.content
    assert HealthCheck.objects.count() == 0


def test_history_is_paginated_newest_first(user_client, staff_client, provider, django_assert_num_queries):
    for _ in range(3):
        staff_client.post(url("rp"), {}, format="json")
    with django_assert_num_queries(3):  # provider exists, count, one page
        response = user_client.get(url("rp"), {"limit": 2})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    ids = [row["id"] for row in body["results"]]
    assert ids == sorted(ids, reverse=True)


def test_history_needs_a_signed_in_user_and_a_known_provider(anon_client, user_client):
    assert anon_client.get(url("rp")).status_code in (401, 403)
    response = user_client.get(url("nope"))
    assert response.status_code == 404 and response.json()["code"] == "provider_not_found"
