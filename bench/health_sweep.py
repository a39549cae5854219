"""Bench: one health sweep over N providers against a loopback fake that answers in 200 ms, 5% never answering.

Prints the sweep's wall time and checks per second. Every provider points at 127.0.0.1 (the fake), so nothing
leaves the machine. Use the production database kind (PostgreSQL via DATABASE_URL); the embedded SQLite
default works too, with the sweep's writes taking turns. Bench providers are removed afterwards.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> .venv/bin/python bench/health_sweep.py
"""
import argparse
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comfyvn_site.settings.base")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from health.models import CheckTrigger  # noqa: E402
from health.services import health_sweep_run  # noqa: E402
from providers.models import Provider  # noqa: E402
from providers.secrets import encrypt_secrets  # noqa: E402

PREFIX = "bench-health-"
TOKEN = "bench-token-3c9f1e7a55"


class FakeRunPod(BaseHTTPRequestHandler):
    """GET /v1/pods answers `[]` after LATENCY seconds; anything under /hang/ never answers."""

    latency = 0.2
    stop = threading.Event()

    def do_GET(self):
        if self.path.startswith("/hang/"):
            self.stop.wait(600)
            return
        time.sleep(self.latency)
        body = b"[]" if self.headers.get("Authorization") == f"Bearer {TOKEN}" else b'{"error": "unauthorized"}'
        self.send_response(200 if body == b"[]" else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, default=500)
    parser.add_argument("--hang-fraction", type=float, default=0.05)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the fake takes to answer")
    parser.add_argument("--concurrency", type=int, default=None, help="default: HEALTH_SWEEP_CONCURRENCY")
    args = parser.parse_args()
    FakeRunPod.latency = args.latency
    server = Server(("127.0.0.1", 0), FakeRunPod)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    # The fake is on loopback: open exactly that address, as an operator would for an internal gateway.
    settings.HEALTH_ALLOWED_NETWORKS = ["127.0.0.1/32"]

    hang_every = round(1 / args.hang_fraction) if args.hang_fraction else 0
    secrets = encrypt_secrets({"api_key": TOKEN})
    ids = [f"{PREFIX}{n:04d}" for n in range(args.providers)]
    Provider.objects.filter(id__startswith=PREFIX).delete()
    Provider.objects.bulk_create([
        Provider(id=pid, name=pid, service="runpod", priority=500, secrets_ciphertext=secrets,
                 base_url=f"{base}/hang/v1" if hang_every and n % hang_every == 0 else f"{base}/v1")
        for n, pid in enumerate(ids)])
    hanging = sum(1 for n in range(args.providers) if hang_every and n % hang_every == 0)
    try:
        report = health_sweep_run(provider_ids=ids, trigger=CheckTrigger.COMMAND, concurrency=args.concurrency)
    finally:
        FakeRunPod.stop.set()
        Provider.objects.filter(id__startswith=PREFIX).delete()
        server.shutdown()

    concurrency = args.concurrency or settings.HEALTH_SWEEP_CONCURRENCY
    serial = (args.providers - hanging) * args.latency + hanging * settings.HEALTH_READ_TIMEOUT
    print(f"database={connection.vendor} providers={args.providers} hanging={hanging} "
          f"latency={args.latency * 1000:.0f}ms concurrency={concurrency} read_timeout={settings.HEALTH_READ_TIMEOUT}s "
          f"deadline={settings.HEALTH_DEADLINE}s")
    print(f"sweep wall time: {report.seconds:.2f} s")
    print(f"checks per second: {len(report.checks) / report.seconds:.1f}")
    print(f"outcomes: {dict(sorted(report.counts.items()))} skipped={len(report.skipped)}")
    print(f"one after another it would take about {serial:.0f} s")


if __name__ == "__main__":
    main()
