"""CI tier: a real Celery worker (subprocess) over the real Redis runs sweep_health against fake vendor servers.

Redis comes from COMFYVN_TEST_REDIS_URL (.ci/run exports it), else redis://127.0.0.1:6379/6. Unreachable Redis
skips the test locally and fails it in CI (CI=true), so the tier can never silently vanish there.
"""
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection
from kombu import Connection

from comfyvn_site.celery import app
from health.models import HealthCheck
from providers.models import Provider
from providers.secrets import encrypt_secrets
from tests.factories import ProviderFactory
from tests.health.vendors import BAD_TOKEN, GOOD_TOKEN, SPECS

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_url():
    url = os.environ.get("COMFYVN_TEST_REDIS_URL") or "redis://127.0.0.1:6379/6"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except redis.exceptions.RedisError as exc:
        message = (f"Redis at {url} is unreachable ({type(exc).__name__}); "
                   "start redis-server or set COMFYVN_TEST_REDIS_URL")
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(redis_url):
    """A prefork worker on a queue of its own, reading the pytest database; stopped (and its queue removed) after."""
    if connection.vendor != "postgresql":
        pytest.skip("the worker tier needs PostgreSQL (the worker must read the test database from outside)")
    queue = f"health-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "comfyvn_site.settings.test", "DATABASE_URL": _database_url(),
           "CELERY_BROKER_URL": redis_url, "SECRET_KEY": settings.SECRET_KEY,
           "COMFYVN_SECRETS_KEY": ",".join(settings.COMFYVN_SECRETS_KEYS),
           "HEALTH_ALLOWED_NETWORKS": "127.0.0.1/32", "HEALTH_CONNECT_TIMEOUT": "5", "HEALTH_READ_TIMEOUT": "5",
           "HEALTH_DEADLINE": "10", "HEALTH_SWEEP_CONCURRENCY": "8"}  # generous: a loaded CI box must not flake
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "comfyvn_site", "worker", "-Q", queue, "--pool=prefork",
         "--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    yield queue, process, log.name
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
    connection.close()
    client = redis.Redis.from_url(redis_url)
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    os.unlink(log.name)


def _provider(server, n: int, service: str, good: bool = True, **kwargs) -> Provider:
    spec = SPECS[service]
    secrets = {name: (GOOD_TOKEN if good else BAD_TOKEN) for name in spec.good}
    return ProviderFactory(id=f"w-{n:02d}", service=service, base_url=server.url + spec.prefix,
                           secrets_ciphertext=encrypt_secrets(secrets), **kwargs)


@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_real_worker_sweeps_twenty_providers(worker, redis_url, fake_server):
    queue, process, log_path = worker
    for service in ("runpod", "vast.ai", "lambda"):
        SPECS[service].install(fake_server)
    services = ["runpod", "vast.ai", "lambda"]
    expected = {}
    for n in range(20):
        service = services[n % 3]
        good = n % 5 != 0  # every fifth provider has the wrong key
        _provider(fake_server, n, service, good)
        expected[f"w-{n:02d}"] = "ok" if good else "auth_failed"
    ProviderFactory(id="w-20", service="coreweave", base_url=fake_server.url, config={"organization_id": "ab1cd2"})
    expected["w-20"] = "no_credentials"  # no credentials at all: never available
    ProviderFactory(id="w-off", service="runpod", base_url=fake_server.url + "/v1", active=False)
    Provider.objects.filter(id="local").delete()

    with Connection(redis_url) as broker:  # send_task publishes even though the test settings are eager
        app.send_task("health.tasks.sweep_health", queue=queue, connection=broker)

    deadline = time.monotonic() + 90
    while HealthCheck.objects.count() < len(expected) and time.monotonic() < deadline:
        if process.poll() is not None:
            break
        time.sleep(0.5)
    log = Path(log_path).read_text()
    recorded = dict(HealthCheck.objects.values_list("provider_id", "status"))
    assert recorded == expected, f"worker log:\n{log}"
    assert HealthCheck.objects.count() == len(expected)
    available = {p.id: p.available for p in Provider.objects.exclude(id="w-off")}
    assert available == {pid: status == "ok" for pid, status in expected.items()}
    assert set(HealthCheck.objects.values_list("trigger", flat=True)) == {"scheduled"}
    assert not HealthCheck.objects.filter(provider_id="w-off").exists()
