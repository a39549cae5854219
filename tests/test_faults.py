"""Faults, against private servers on free ports: the broker or the database goes away; the service degrades and
recovers by itself. Never the machine's shared PostgreSQL or Redis."""
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import psutil
import pytest
import redis
from django.db import connections
from django.utils import timezone
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from bench.http_bench import ADVISE_WORKLOAD
from bench.server import REPO, free_port, gunicorn_start, gunicorn_stop, wait_ready
from compute.models import JobSummary
from providers.models import LOCAL_PROVIDER_ID, Provider
from tests.health.fakes import FakeServer
from tests.servers import PrivatePostgres, PrivateRedis

pytestmark = [
    pytest.mark.slow,
    # send_task publishes even under the test settings' eager mode; that is why the tests below use it.
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored"),
]
# A fault must cost a caller seconds, not a hung worker (reliability.md finding 6: the defaults blocked > 45 s).
FAST_FAILURE_S = 6


@pytest.fixture
def private_redis():
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = PrivateRedis()
    server.start()
    yield server
    server.close()


@pytest.fixture
def private_postgres():
    server = PrivatePostgres()
    if server.bin is None:
        pytest.skip("PostgreSQL server binaries are not installed")
    server.start()
    yield server
    server.close()


@pytest.fixture
def vendor_api():
    """The health app's fake vendor server on 127.0.0.1, with switchable failure modes."""
    server = FakeServer().start()
    yield server
    server.stop()


@pytest.fixture
def wedged_port():
    """A loopback listener that accepts connections and never answers: a hung broker."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held = []
    threading.Thread(target=lambda: held.extend(iter(listener.accept, None)), daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


def _enqueue(broker_url: str) -> None:
    """Publish one task message with the service's own broker settings (send_task publishes even when eager)."""
    from comfyvn_site.celery import app

    with app.connection_for_write(broker_url) as connection:
        app.send_task("comfyvn.fault_probe", connection=connection)


def _elapsed(action) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def test_enqueue_reaches_a_running_private_redis(private_redis):
    _enqueue(private_redis.url)
    assert redis.Redis.from_url(private_redis.url).llen("celery") == 1


def test_enqueue_to_a_stopped_redis_fails_fast(private_redis):
    private_redis.stop()

    def attempt():
        with pytest.raises(OperationalError):
            _enqueue(private_redis.url)

    assert _elapsed(attempt) < FAST_FAILURE_S


def test_enqueue_to_a_wedged_redis_fails_fast(wedged_port):
    def attempt():
        with pytest.raises(OperationalError):
            _enqueue(f"redis://127.0.0.1:{wedged_port}/0")

    assert _elapsed(attempt) < FAST_FAILURE_S


def _manage(database_url: str, *args: str) -> str:
    env = dict(os.environ, DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="comfyvn_site.settings.base")
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, check=True, capture_output=True,
                          text=True, timeout=300)
    return done.stdout


def _ping(base_url: str, token: str) -> int:
    request = urllib.request.Request(f"{base_url}/api/ping", headers={"Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def test_service_survives_a_postgres_restart_without_restarting(private_postgres):
    """CONN_HEALTH_CHECKS: the first request after the restart gets a fresh connection instead of a dead one."""
    private_postgres.create_database("advisor")
    database_url = private_postgres.url("advisor")
    _manage(database_url, "migrate", "--noinput")
    token = _manage(database_url, "shell", "-c", (
        "from django.contrib.auth import get_user_model; from rest_framework.authtoken.models import Token; "
        "print(Token.objects.create(user=get_user_model().objects.create_user('fault-staff')).key)")).split()[-1]
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    # Persistent connections (as deployed) are what a restart breaks; one worker so every request reuses one.
    process = gunicorn_start(database_url=database_url, port=port, workers=1, extra_env={"CONN_MAX_AGE": "600"})
    try:
        wait_ready(process, base_url, workers=1)
        assert _ping(base_url, token) == 200
        workers = {child.pid for child in psutil.Process(process.pid).children()}

        private_postgres.restart()

        assert [_ping(base_url, token) for _ in range(3)] == [200, 200, 200]
        assert {child.pid for child in psutil.Process(process.pid).children()} == workers
    finally:
        gunicorn_stop(process)


def _test_database_url() -> str:
    """The pytest database as a URL, for a gunicorn started beside the test (it sees committed rows only)."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _post(base_url: str, path: str, token: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(f"{base_url}{path}", data=body, method="POST", headers={
        "Authorization": f"Token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.django_db(transaction=True)
def test_redis_down_advise_answers_and_check_now_is_a_fast_503(private_redis, templates, staff):
    """With the broker and the cache on a Redis that is gone: advice (PostgreSQL only) still answers 200, and a
    queued "check now" is refused with a 503 within seconds instead of hanging a worker."""
    from rest_framework.authtoken.models import Token

    from tests.factories import ProviderFactory

    providers = ProviderFactory.create_batch(5, last_checked_at=timezone.now(), last_health={"ok": True})
    token = Token.objects.create(user=staff).key
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = gunicorn_start(database_url=_test_database_url(), port=port, workers=1, extra_env={
        "CELERY_BROKER_URL": private_redis.url, "CACHE_URL": private_redis.url.replace("/0", "/1")})
    try:
        wait_ready(process, base_url, workers=1)
        private_redis.stop()
        advice = _post(base_url, "/compute/advise", token, json.dumps(ADVISE_WORKLOAD).encode())
        started = time.monotonic()
        check_now = _post(base_url, f"/api/providers/{providers[0].id}/health", token, b'{"queue": true}')
        check_now_s = time.monotonic() - started
    finally:
        gunicorn_stop(process)
    assert advice[0] == 200, advice[1][:500]
    assert JobSummary.objects.count() == 1
    assert check_now[0] == 503, check_now[1][:500]
    assert json.loads(check_now[1])["code"] == "broker_unavailable"
    assert check_now_s < FAST_FAILURE_S


def _import_file(label: str, ids: range) -> dict:
    entries = [{"id": f"fault-{i}", "name": f"{label} {i}", "kind": "remote", "service": "runpod",
                "base_url": "https://rest.runpod.io/v1", "active": True, "priority": 10, "template": "runpod",
                "meta": {"min_vram_gb": 16, "max_vram_gb": 24, "cost": {"hourly_usd": 0.5,
                                                                         "billing_increment_minutes": 1}},
                "config": {}} for i in ids]
    return {"providers": entries, "replace": True}


@pytest.mark.django_db(transaction=True)
def test_concurrent_imports_are_serialised_never_mixed(templates, staff):
    """Two replace-imports of overlapping files at once, several rounds: afterwards the registry is always exactly
    one file applied whole (ids, names), never rows from both."""
    files = {"A": _import_file("A", range(0, 40)), "B": _import_file("B", range(20, 60))}
    expected = {label: {entry["id"]: entry["name"] for entry in document["providers"]}
                for label, document in files.items()}
    for _ in range(5):
        barrier = threading.Barrier(len(files))
        statuses = {}

        def run(label):
            client = APIClient()
            client.force_authenticate(staff)
            barrier.wait()
            statuses[label] = client.post("/api/providers/import", files[label], format="json").status_code
            connections.close_all()

        threads = [threading.Thread(target=run, args=(label,)) for label in files]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert statuses == {"A": 200, "B": 200}
        registry = dict(Provider.objects.exclude(id=LOCAL_PROVIDER_ID).values_list("id", "name"))
        assert registry in expected.values(), f"a mix of both files: {sorted(registry.items())[:10]}…"


@pytest.mark.django_db(transaction=True)
def test_sweep_with_hanging_provider_apis_finishes_on_time(vendor_api, settings):
    """A quarter of the providers' APIs accept and never answer: every check still ends at HEALTH_DEADLINE, so the
    sweep takes about ceil(n / concurrency) deadlines at worst, and records the hung ones as failures."""
    from health.models import CheckTrigger
    from health.services import health_sweep_run
    from providers.secrets import encrypt_secrets
    from tests.factories import ProviderFactory
    from tests.health.vendors import GOOD_TOKEN, bearer_route

    settings.HEALTH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.HEALTH_CONNECT_TIMEOUT = settings.HEALTH_READ_TIMEOUT = 1.0
    settings.HEALTH_DEADLINE = 1.5
    bearer_route("GET", "/v1/pods", b"[]")(vendor_api)
    vendor_api.modes["/hang/v1/pods"] = "hang"
    secrets = encrypt_secrets({"api_key": GOOD_TOKEN})
    ids = [ProviderFactory(id=f"sweep-{n}", service="runpod", secrets_ciphertext=secrets,
                           base_url=f"{vendor_api.url}{'/hang' if n % 4 == 0 else ''}/v1").id for n in range(20)]
    concurrency = 4

    report = health_sweep_run(provider_ids=ids, trigger=CheckTrigger.COMMAND, concurrency=concurrency)

    assert report.seconds < math.ceil(len(ids) / concurrency) * settings.HEALTH_DEADLINE + 2
    outcomes = {check.provider_id: check.ok for check in report.checks}
    assert outcomes == {pid: n % 4 != 0 for n, pid in enumerate(ids)}
