"""Every adapter against a fake of its vendor's API on 127.0.0.1: the acceptance matrix of issue 6."""
import time

import pytest

from health.adapters import is_placeholder
from health.services import provider_health_probe
from providers.models import ProviderKind
from providers.secrets import encrypt_secrets
from tests.factories import ProviderFactory
from tests.health.vendors import CREDENTIALED_SERVICES, HTTP_SERVICES, SPECS, materialise


def build_provider(server, service: str, secrets: dict):
    spec = SPECS[service]
    spec.install(server)
    overrides = {key: value.format(url=server.url) for key, value in spec.overrides.items()}
    return ProviderFactory.build(
        id=f"test-{service.replace('.', '-')}", service=service, base_url=server.url + spec.prefix,
        kind=ProviderKind.LOCAL if service in ("comfyui", "llm_local") else ProviderKind.REMOTE,
        config=dict(spec.config), secrets_ciphertext=encrypt_secrets(materialise(secrets, server.url)),
        meta={"health": overrides})


@pytest.mark.parametrize("service", HTTP_SERVICES)
def test_valid_credentials_give_ok(service, fake_server, loopback_allowed):
    provider = build_provider(fake_server, service, SPECS[service].good)
    result = provider_health_probe(provider=provider)
    assert (result.status, result.http_status) == ("ok", 200), result
    assert result.latency_ms is not None


@pytest.mark.parametrize("service", CREDENTIALED_SERVICES)
def test_wrong_credentials_give_auth_failed(service, fake_server, loopback_allowed):
    provider = build_provider(fake_server, service, SPECS[service].bad)
    result = provider_health_probe(provider=provider)
    assert result.status == "auth_failed", result


@pytest.mark.parametrize("service", CREDENTIALED_SERVICES)
def test_placeholder_credentials_never_reach_the_vendor(service, fake_server, loopback_allowed):
    provider = build_provider(fake_server, service, {name: "<your-api-key>" for name in SPECS[service].good})
    result = provider_health_probe(provider=provider)
    assert result.status == "no_credentials", result
    assert fake_server.seen == []


@pytest.mark.parametrize("service", sorted(set(CREDENTIALED_SERVICES) - {"comfyui"}))
def test_missing_credentials_give_no_credentials(service, fake_server, loopback_allowed):
    result = provider_health_probe(provider=build_provider(fake_server, service, {}))
    assert result.status == "no_credentials", result
    assert fake_server.seen == []


@pytest.mark.parametrize("service", HTTP_SERVICES)
def test_server_error_gives_error_without_the_body(service, fake_server, loopback_allowed):
    provider = build_provider(fake_server, service, SPECS[service].good)
    fake_server.modes[SPECS[service].path] = "5xx"
    result = provider_health_probe(provider=provider)
    assert (result.status, result.http_status) == ("error", 503), result
    assert "secret" not in result.detail


@pytest.mark.parametrize("service", HTTP_SERVICES)
@pytest.mark.parametrize("mode", ["hang", "drip"])
def test_silent_or_dripping_server_times_out_within_the_deadline(service, mode, fake_server, loopback_allowed):
    provider = build_provider(fake_server, service, SPECS[service].good)
    fake_server.modes[SPECS[service].path] = mode
    started = time.monotonic()
    result = provider_health_probe(provider=provider)
    elapsed = time.monotonic() - started
    assert result.status == "timeout", result
    assert elapsed < loopback_allowed.HEALTH_DEADLINE + 1.0, elapsed


@pytest.mark.parametrize("service", HTTP_SERVICES)
@pytest.mark.parametrize("mode", ["huge", "huge_length"])
def test_fifty_megabyte_body_is_refused_at_the_cap(service, mode, fake_server, loopback_allowed):
    provider = build_provider(fake_server, service, SPECS[service].good)
    fake_server.modes[SPECS[service].path] = mode
    result = provider_health_probe(provider=provider)
    assert result.status == "error" and "cap" in result.detail, result


@pytest.mark.parametrize("service", HTTP_SERVICES)
def test_redirect_is_not_followed(service, fake_server, loopback_allowed):
    provider = build_provider(fake_server, service, SPECS[service].good)
    fake_server.modes[SPECS[service].path] = "redirect"
    result = provider_health_probe(provider=provider)
    assert (result.status, result.http_status) == ("error", 302), result
    assert "redirect" in result.detail
    assert sum(seen.path.split("?")[0] == SPECS[service].path for seen in fake_server.seen) == 1


@pytest.mark.parametrize("service", ["runpod", "vast.ai", "lambda", "aws", "azure", "gcp", "coreweave"])
def test_cloud_adapter_refuses_loopback_without_the_operator_allow_list(service, fake_server, settings):
    provider = build_provider(fake_server, service, SPECS[service].good)
    result = provider_health_probe(provider=provider)
    assert result.status == "blocked", result
    assert fake_server.seen == []


@pytest.mark.parametrize("value", ["", "changeme", "<your-api-key>", "xxxxxxxx", "YOUR_API_KEY", "${RUNPOD_KEY}",
                                   "short"])
def test_placeholder_values_are_recognised(value):
    assert is_placeholder(value)


def test_real_looking_keys_are_not_placeholders():
    values = [v for spec in SPECS.values() for v in materialise({**spec.good, **spec.bad}, "http://x").values()]
    assert values and not any(is_placeholder(v) for v in values)


def test_unknown_service_is_misconfigured():
    provider = ProviderFactory.build(service="mainframe")
    assert provider_health_probe(provider=provider).status == "misconfigured"


def test_env_reference_credential_is_resolved_at_check_time(fake_server, loopback_allowed, monkeypatch):
    provider = build_provider(fake_server, "runpod", {"api_key": {"env": "TEST_RUNPOD_KEY"}})
    assert provider_health_probe(provider=provider).status == "no_credentials"
    monkeypatch.setenv("TEST_RUNPOD_KEY", SPECS["runpod"].good["api_key"])
    assert provider_health_probe(provider=provider).status == "ok"


@pytest.mark.parametrize(("service", "token_path"), [("gcp", "/token"), ("azure", "/tenant-1/oauth2/v2.0/token")])
@pytest.mark.parametrize(("mode", "status"), [("hang", "timeout"), ("redirect", "error"), ("5xx", "error")])
def test_token_endpoint_failures_are_classified(service, token_path, mode, status, fake_server, loopback_allowed):
    provider = build_provider(fake_server, service, SPECS[service].good)
    fake_server.modes[token_path] = mode
    result = provider_health_probe(provider=provider)
    assert result.status == status, result
    assert result.latency_ms < (loopback_allowed.HEALTH_DEADLINE + 1) * 1000  # no library-side retries and sleeps
    assert all(seen.path.split("?")[0] != SPECS[service].path for seen in fake_server.seen)
