"""The service under test, deployed as in production: gunicorn (2 workers) on PostgreSQL, on a free loopback port.

Each run gets a fresh database named after DATABASE_URL's with a `_bench` suffix (dropped afterwards), so figures never
depend on whatever a developer's database holds, and seeding never touches it. The bench process itself points Django
at that database too, to seed it and to read back what the run wrote.
"""
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import psutil

REPO = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")
SOCKET_DIR = Path("/var/run/postgresql")
LOOPBACK_HOSTS = {None, "127.0.0.1", "localhost", "::1"}  # None: a Unix socket


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def local_socket_url(url: str) -> str:
    """The same PostgreSQL URL over the server's Unix socket when the server runs on this host.

    The socket is a file, so it stays reachable from inside `unshare -n`, where the host's 127.0.0.1 is not.
    """
    parts = urlsplit(url)
    socket_file = SOCKET_DIR / f".s.PGSQL.{parts.port or 5432}"
    if parts.scheme.startswith("postgres") and parts.hostname in {"127.0.0.1", "localhost", "::1"} \
            and socket_file.exists():
        userinfo = parts.netloc.rpartition("@")[0] or "postgres"
        return f"{parts.scheme}://{userinfo}@{parts.path}?host={SOCKET_DIR}&port={parts.port or 5432}"
    return url


def bench_database_url(url: str) -> str:
    """DATABASE_URL naming a `_bench` database of its own."""
    parts = urlsplit(local_socket_url(url))
    if not parts.scheme.startswith("postgres"):
        raise SystemExit(f"benchmarks need PostgreSQL; DATABASE_URL is {parts.scheme or 'unset'}")
    hosts = {parts.hostname, *(h for h in parse_qs(parts.query).get("host", []) if not h.startswith("/"))}
    if not hosts <= LOOPBACK_HOSTS:  # a run creates and force-drops a database: never on another machine
        raise SystemExit("benchmarks need a PostgreSQL on this machine (loopback or its Unix socket)")
    return urlunsplit(parts._replace(path=parts.path + "_bench"))


def _admin_connection(url: str):
    """A psycopg connection to the server's maintenance database, for CREATE/DROP DATABASE."""
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True)


def database_recreate(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with _admin_connection(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def database_drop(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with _admin_connection(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_setup(database_url: str) -> None:
    """Point this process's Django at the bench database (must run before anything imports settings)."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comfyvn_site.settings.base")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


def registry_seed(*, providers: int) -> str:
    """Migrate, sync the curated templates, add `providers` remote entries and a staff user; return its API token.

    Entries cycle through the remote templates with varied VRAM, price, priority and regions, mostly healthy (checked
    a minute ago), some unhealthy and some inactive, so the advisor meets a registry shaped like a real one.
    """
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from providers.models import Provider, ProviderKind, ProviderTemplate
    from providers.services import provider_template_specs_load, provider_template_sync

    call_command("migrate", verbosity=0)
    provider_template_sync(specs=provider_template_specs_load())
    remote = list(ProviderTemplate.objects.filter(kind=ProviderKind.REMOTE).order_by("id"))
    checked = timezone.now()
    rows = []
    for i in range(providers):
        template = remote[i % len(remote)]
        vram = (8, 12, 16, 24, 40, 48, 80)[i % 7]
        healthy = i % 10 != 9
        meta = dict(template.meta)
        meta.update({
            "min_vram_gb": vram, "max_vram_gb": vram,
            "cost": {"hourly_usd": round(0.2 + (i * 37 % 400) / 100, 2), "billing_increment_minutes": (1, 60)[i % 2]},
            "regions": [("us-east", "eu-west", "ap-south")[i % 3]],
            "relative_speed": round(0.5 + (i % 5) / 4, 2),
        })
        rows.append(Provider(
            id=f"bench-{template.id}-{i}", name=f"Bench {template.name} {i}", kind=ProviderKind.REMOTE,
            service=template.service, base_url=template.base_url, active=i % 25 != 24, priority=i % 50,
            meta=meta, template=template, last_checked_at=checked,
            last_health={"status": "ok" if healthy else "down", "ok": healthy, "latency_ms": 40 + i % 60},
            consecutive_failures=0 if healthy else 3,
        ))
    for row in rows[:20]:
        row.full_clean()
    Provider.objects.bulk_create(rows, batch_size=500)
    staff = get_user_model().objects.create_user("bench-staff", password=secrets.token_urlsafe(24), is_staff=True)
    return Token.objects.create(user=staff).key


@dataclass
class MemorySampler:
    """Polls the resident set size of every gunicorn worker in a background thread."""

    master_pid: int
    interval_s: float = 0.05
    samples: list[tuple[float, int]] = field(default_factory=list)  # (time, largest worker RSS in bytes)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> "MemorySampler":
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def _run(self) -> None:
        master = psutil.Process(self.master_pid)
        while not self._stop.wait(self.interval_s):
            sizes = []
            for worker in master.children():
                try:
                    sizes.append(worker.memory_info().rss)
                except psutil.NoSuchProcess:
                    continue
            if sizes:
                self.samples.append((time.monotonic(), max(sizes)))

    def stop(self) -> dict:
        """Peak, first and last worker RSS in MiB; first vs last shows whether memory stayed flat."""
        self._stop.set()
        mib = [size / 2**20 for _, size in self.samples] or [0.0]
        return {"rss_first_mb": round(mib[0], 1), "rss_last_mb": round(mib[-1], 1), "rss_peak_mb": round(max(mib), 1)}


class CpuMeter:
    """CPU seconds spent by the gunicorn workers, PostgreSQL, this process (the load generator) and nobody (idle)
    between `start()` and `seconds()`: where a request's time goes on a machine they all share.

    Counted per process: one that exits in between (a PostgreSQL backend) takes its time with it, so a figure can
    fall short, never go negative; one that starts in between counts in full."""

    def __init__(self, master_pid: int):
        self.master = psutil.Process(master_pid)

    def _read(self) -> dict[str, dict[int, float]]:
        # PostgreSQL's processes are read by name: its backends are not our children (a server on this machine).
        postgres = [p for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith("postgres")]
        groups = {"worker": self.master.children(), "postgres": postgres, "client": [psutil.Process()]}
        seconds: dict[str, dict[int, float]] = {}
        for group, processes in groups.items():
            seconds[group] = {}
            for process in processes:
                try:
                    times = process.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                seconds[group][process.pid] = times.user + times.system
        seconds["idle"] = {0: psutil.cpu_times().idle}
        return seconds

    def start(self) -> "CpuMeter":
        self._start = self._read()
        return self

    def seconds(self) -> Counter:
        """CPU seconds of worker, postgres, client and idle (idle over all cores) since `start()`."""
        end = self._read()
        return Counter({group: sum(value - self._start[group].get(pid, 0.0) for pid, value in end[group].items())
                        for group in end})

    @staticmethod
    def per_request(seconds: Counter, requests: int) -> dict[str, float]:
        """Those seconds as milliseconds per request, one `<group>_cpu_ms` figure each."""
        return {f"{group}_cpu_ms": round(spent / max(requests, 1) * 1000, 2) for group, spent in seconds.items()}


def gunicorn_start(*, database_url: str, port: int, workers: int = 2, log=subprocess.DEVNULL,
                   extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """gunicorn serving the production WSGI app (base settings) on 127.0.0.1:`port`; call `wait_ready` next."""
    env = dict(os.environ, DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="comfyvn_site.settings.base",
               LOG_LEVEL="WARNING", **(extra_env or {}))
    return subprocess.Popen(
        [str(GUNICORN), "comfyvn_site.wsgi:application", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )


def wait_ready(process: subprocess.Popen, base_url: str, *, workers: int, timeout_s: float = 60.0) -> None:
    """Block until /healthz answers and every worker has forked."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as answer:
                if answer.status == 200 and len(psutil.Process(process.pid).children()) >= workers:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn not ready after {timeout_s} s")


def gunicorn_stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Service:
    """Context manager: fresh database, seeded registry, gunicorn up and answering; all torn down on exit."""

    def __init__(self, *, providers: int, workers: int = 2):
        base = os.environ.get("DATABASE_URL", "")
        self.database_url = bench_database_url(base)
        self.providers, self.workers = providers, workers
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.token = ""
        self.process: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}

    def __enter__(self) -> "Service":
        database_recreate(self.database_url)
        django_setup(self.database_url)
        self.token = registry_seed(providers=self.providers)
        from django.db import connections

        connections.close_all()
        self.process = gunicorn_start(database_url=self.database_url, port=self.port, workers=self.workers,
                                      log=self.log)
        try:
            wait_ready(self.process, self.base_url, workers=self.workers)
        except RuntimeError as error:
            raise RuntimeError(f"{error}; see {self.log.name}") from None
        return self

    def memory_sampler(self) -> MemorySampler:
        return MemorySampler(self.process.pid).start()

    def cpu_meter(self) -> CpuMeter:
        return CpuMeter(self.process.pid).start()

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            gunicorn_stop(self.process)
        from django.db import connections

        connections.close_all()
        if os.environ.get("BENCH_KEEP_DB") != "1":
            database_drop(self.database_url)
        if exc[0] is None:
            os.unlink(self.log.name)
