"""Recording checks, the provider's health fields, the per-provider lock and the sweep."""
import threading

import pytest
from django.core.cache import cache

from comfyvn_site.exceptions import Conflict, ProviderNotFound
from health.adapters import CheckResult
from health.models import HealthCheck
from health.selectors import health_check_list
from health.services import health_check_record, health_sweep_run, provider_health_check
from providers.secrets import encrypt_secrets
from tests.factories import ProviderFactory
from tests.health.fakes import Reply
from tests.health.vendors import BAD_TOKEN, GOOD_TOKEN, bearer_route

pytestmark = pytest.mark.django_db


def runpod(server, provider_id: str, token: str = GOOD_TOKEN, **kwargs):
    bearer_route("GET", "/v1/pods", b"[]")(server)
    return ProviderFactory(id=provider_id, service="runpod", base_url=server.url + "/v1",
                           secrets_ciphertext=encrypt_secrets({"api_key": token}), **kwargs)


def test_ok_check_is_recorded_and_makes_the_provider_available(fake_server, loopback_allowed):
    provider = runpod(fake_server, "rp")
    check = provider_health_check(provider_id="rp")
    provider.refresh_from_db()
    assert (check.status, check.http_status, check.trigger) == ("ok", 200, "manual")
    assert provider.available and provider.consecutive_failures == 0
    assert provider.last_health["status"] == "ok" and provider.last_health["ok"] is True
    assert provider.last_checked_at == check.checked_at


def test_failures_count_up_and_a_success_resets_them(fake_server, loopback_allowed):
    provider = runpod(fake_server, "rp", token=BAD_TOKEN)
    provider_health_check(provider_id="rp")
    provider_health_check(provider_id="rp")
    provider.refresh_from_db()
    assert (provider.available, provider.consecutive_failures, provider.last_health["status"]) == (
        False, 2, "auth_failed")
    provider.secrets_ciphertext = encrypt_secrets({"api_key": GOOD_TOKEN})
    provider.save()
    provider_health_check(provider_id="rp")
    provider.refresh_from_db()
    assert (provider.available, provider.consecutive_failures) == (True, 0)
    assert "detail" in provider.last_health and "error" not in provider.last_health  # replaced, never merged
    assert HealthCheck.objects.filter(provider=provider).count() == 3


def test_placeholder_credentials_never_make_a_provider_available(fake_server, loopback_allowed):
    provider = runpod(fake_server, "rp", token="changeme")
    check = provider_health_check(provider_id="rp")
    provider.refresh_from_db()
    assert check.status == "no_credentials" and not provider.available


def test_s16_error_body_is_never_stored(fake_server, loopback_allowed):
    fake_server.route("GET", "/v1/pods", lambda *a: Reply(500, b"secret " * 7000))
    ProviderFactory(id="rp", service="runpod", base_url=fake_server.url + "/v1",
                    secrets_ciphertext=encrypt_secrets({"api_key": GOOD_TOKEN}))
    check = provider_health_check(provider_id="rp")
    assert (check.status, check.http_status) == ("error", 500)
    assert "secret" not in check.detail and len(check.detail) <= 200


def test_unknown_provider_raises_not_found():
    with pytest.raises(ProviderNotFound):
        provider_health_check(provider_id="nope")
    with pytest.raises(ProviderNotFound):
        health_check_record(provider_id="nope", result=CheckResult("ok"), trigger="manual")


def test_a_second_concurrent_check_of_the_same_provider_is_refused(fake_server, loopback_allowed):
    runpod(fake_server, "rp")
    assert cache.add("health:check:rp", "1")
    try:
        with pytest.raises(Conflict):
            provider_health_check(provider_id="rp")
    finally:
        cache.delete("health:check:rp")
    assert HealthCheck.objects.count() == 0


def test_sweep_checks_active_providers_only(fake_server, loopback_allowed):
    runpod(fake_server, "rp-a")
    runpod(fake_server, "rp-b", token=BAD_TOKEN)
    runpod(fake_server, "rp-off", active=False)
    seen = []
    report = health_sweep_run(concurrency=1, on_done=lambda pid, check: seen.append(pid))
    assert sorted(c.provider_id for c in report.checks) == ["rp-a", "rp-b"]
    assert sorted(seen) == ["rp-a", "rp-b"]
    assert report.counts == {"ok": 1, "auth_failed": 1}
    assert not HealthCheck.objects.filter(provider_id="rp-off").exists()


@pytest.mark.django_db(transaction=True)
def test_threaded_sweep_records_every_provider_once(fake_server, loopback_allowed):
    for n in range(12):
        runpod(fake_server, f"rp-{n}", token=GOOD_TOKEN if n % 3 else BAD_TOKEN)
    report = health_sweep_run(concurrency=4)
    assert len(report.checks) == 12 and report.skipped == []
    assert HealthCheck.objects.count() == 12
    assert report.counts == {"ok": 8, "auth_failed": 4}
    assert threading.active_count() < 20  # the pool is shut down


def test_history_selector_is_newest_first_in_one_query(fake_server, loopback_allowed, django_assert_num_queries):
    runpod(fake_server, "rp")
    first = provider_health_check(provider_id="rp")
    second = provider_health_check(provider_id="rp")
    with django_assert_num_queries(2):
        assert [c.id for c in health_check_list(provider_id="rp")] == [second.id, first.id]
    with pytest.raises(ProviderNotFound):
        health_check_list(provider_id="nope")
