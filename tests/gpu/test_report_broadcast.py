"""With a real Redis broker, one inventory report reaches the worker of every host, not just the first to take it."""
import os
import subprocess
import sys
import time

import pytest
from django.db import connection

from comfyvn_site.celery import app
from gpu.models import GpuHost

REDIS_URL = os.environ.get("COMFYVN_TEST_REDIS_URL", "")

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.skipif(not REDIS_URL, reason="set COMFYVN_TEST_REDIS_URL to run tests against a real Redis broker"),
]


def start_worker(hostname: str, database_url: str) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "comfyvn_site.settings.test", "CELERY_BROKER_URL": REDIS_URL,
           "DATABASE_URL": database_url, "GPU_HOSTNAME": hostname}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "comfyvn_site", "worker", "--pool=solo", "--without-heartbeat",
         "--without-gossip", "--without-mingle", f"--hostname={hostname}@%h", "--loglevel=info"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_until_ready(worker: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        line = worker.stdout.readline()
        if " ready." in line:
            return
        if not line and worker.poll() is not None:
            break
    pytest.fail(f"worker did not start (exit {worker.poll()})")


@pytest.mark.django_db(transaction=True)
def test_one_report_message_is_run_by_the_worker_of_each_host():
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.skip("the workers need a database server they can share with the test")
    database_url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    workers = [start_worker(name, database_url) for name in ("gpu-host-a", "gpu-host-b")]
    try:
        deadline = time.monotonic() + 90
        for worker in workers:
            wait_until_ready(worker, deadline)
        time.sleep(1)  # both workers' fanout subscriptions are live once they print "ready"; allow for slow CI
        with app.connection_for_write(REDIS_URL) as conn:
            app.send_task("gpu.tasks.gpu_inventory_sync_task", connection=conn)
        while time.monotonic() < deadline and GpuHost.objects.count() < 2:
            time.sleep(0.2)
        assert sorted(GpuHost.objects.values_list("hostname", flat=True)) == ["gpu-host-a", "gpu-host-b"]
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
