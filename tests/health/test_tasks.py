"""Tasks: thin, retried with backoff on transient failures, queued after commit, and a broken broker is a 503."""
import socket
import time

import pytest
from celery.exceptions import Retry
from django.db import transaction
from django.urls import reverse

from comfyvn_site.celery import app
from health import tasks
from health.models import HealthCheck
from health.services import provider_health_check_enqueue
from providers.secrets import encrypt_secrets
from tests.factories import ProviderFactory
from tests.health.vendors import GOOD_TOKEN, bearer_route

pytestmark = pytest.mark.django_db


def runpod(server, provider_id="rp"):
    bearer_route("GET", "/v1/pods", b"[]")(server)
    return ProviderFactory(id=provider_id, service="runpod", base_url=server.url + "/v1",
                           secrets_ciphertext=encrypt_secrets({"api_key": GOOD_TOKEN}))


def test_check_provider_records_one_row(fake_server, loopback_allowed):
    runpod(fake_server)
    tasks.check_provider.delay("rp")
    assert list(HealthCheck.objects.values_list("status", flat=True)) == ["ok"]


def test_transient_failure_is_retried_and_recorded_once(fake_server, loopback_allowed):
    runpod(fake_server)
    fake_server.modes["/v1/pods"] = "5xx"
    for attempt in range(tasks.check_provider.max_retries):
        with pytest.raises(Retry):  # autoretry schedules the next attempt with backoff; nothing recorded yet
            tasks.check_provider.apply(args=["rp"], retries=attempt)
        assert HealthCheck.objects.count() == 0
    tasks.check_provider.apply(args=["rp"], retries=tasks.check_provider.max_retries)
    assert len(fake_server.seen) == tasks.check_provider.max_retries + 1
    assert list(HealthCheck.objects.values_list("status", "http_status")) == [("error", 503)]


def test_auth_failure_is_not_retried(fake_server, loopback_allowed):
    bearer_route("GET", "/v1/pods", b"[]", token="another-token-entirely")(fake_server)
    ProviderFactory(id="rp", service="runpod", base_url=fake_server.url + "/v1",
                    secrets_ciphertext=encrypt_secrets({"api_key": GOOD_TOKEN}))
    tasks.check_provider.delay("rp")
    assert len(fake_server.seen) == 1
    assert HealthCheck.objects.get().status == "auth_failed"


def test_check_of_a_removed_provider_is_a_no_op():
    tasks.check_provider.delay("gone")
    assert HealthCheck.objects.count() == 0


def test_sweep_task_reports_counts(fake_server, loopback_allowed, settings):
    settings.HEALTH_SWEEP_CONCURRENCY = 1
    runpod(fake_server)
    assert tasks.sweep_health.delay().get() == {"checked": 1, "skipped": 0, "seconds": pytest.approx(0, abs=2)}


def test_enqueue_runs_after_commit_and_not_after_rollback(fake_server, loopback_allowed,
                                                          django_capture_on_commit_callbacks):
    runpod(fake_server)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        provider_health_check_enqueue(provider_id="rp")
    assert len(callbacks) == 1 and HealthCheck.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            provider_health_check_enqueue(provider_id="rp")
            raise RuntimeError("rolled back")
    assert callbacks == [] and HealthCheck.objects.count() == 0


def test_time_limits_stay_below_the_visibility_timeout(settings):
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    backoff_max = tasks.check_provider.retry_backoff_max
    assert settings.HEALTH_DEADLINE < tasks.CHECK_SOFT_TIME_LIMIT < tasks.CHECK_TIME_LIMIT < visibility
    assert tasks.SWEEP_SOFT_TIME_LIMIT < tasks.SWEEP_TIME_LIMIT < visibility
    assert backoff_max * tasks.check_provider.max_retries < settings.HEALTH_SWEEP_INTERVAL_SECONDS


@pytest.fixture
def broker_at():
    """Publish for real (no eager mode) to the given broker URL; the app's pools are reset around the test."""
    def point(url: str):
        app.conf.task_always_eager = False
        app.conf.broker_write_url = url
        app._pool = app.amqp._producer_pool = None
    yield point
    app.conf.task_always_eager = True
    app.conf.broker_write_url = None
    app._pool = app.amqp._producer_pool = None


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Autocommit, as in production: on_commit callbacks run at once, inside the request.
@pytest.mark.django_db(transaction=True)
def test_check_now_with_an_unreachable_broker_is_a_fast_503(staff_client, broker_at, fake_server, loopback_allowed):
    runpod(fake_server)
    broker_at(f"redis://127.0.0.1:{closed_port()}/0")
    started = time.monotonic()
    response = staff_client.post(reverse("health:provider-health", args=["rp"]), {"queue": True}, format="json")
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "broker_unavailable"
    assert time.monotonic() - started < 5
    assert HealthCheck.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_check_now_with_a_wedged_broker_fails_within_seconds(staff_client, broker_at, fake_server, loopback_allowed):
    runpod(fake_server)
    with socket.socket() as wedged:
        wedged.bind(("127.0.0.1", 0))
        wedged.listen(8)  # accepts connections, never answers
        broker_at(f"redis://127.0.0.1:{wedged.getsockname()[1]}/0")
        started = time.monotonic()
        response = staff_client.post(reverse("health:provider-health", args=["rp"]), {"queue": True},
                                     format="json")
        elapsed = time.monotonic() - started
    assert response.status_code == 503, response.content
    assert elapsed < 10


@pytest.mark.django_db(transaction=True)
def test_advise_answers_200_while_the_broker_is_down(user_client, templates, broker_at):
    broker_at(f"redis://127.0.0.1:{closed_port()}/0")
    body = {"requirements": {"type": "voice_synthesis", "estimated_minutes": 3}, "budget": {"mode": "cost_saver"}}
    started = time.monotonic()
    response = user_client.post(reverse("compute:advise"), body, format="json")
    assert response.status_code == 200, response.content
    assert time.monotonic() - started < 5


def test_the_soft_time_limit_inside_an_adapter_is_recorded_as_a_timeout(monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    from health import services

    def out_of_time(target, client):
        raise SoftTimeLimitExceeded()

    ProviderFactory(id="slow", service="runpod")
    monkeypatch.setitem(services.ADAPTERS, "runpod", out_of_time)
    tasks.check_provider.apply(args=["slow"])
    assert list(HealthCheck.objects.values_list("status", "detail")) == [("timeout", "task time limit reached")]
