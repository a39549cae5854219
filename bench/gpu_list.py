"""Benchmark the GPU inventory reads: /api/gpu/list, gpu_devices_for_advice() and what an advice pays for the local
GPUs (compute.selectors.advice_inputs: the data versions, the inventory read only when it changed) over many hosts.

Creates a throwaway test database (DATABASE_URL's server, or SQLite), reports HOSTS hosts × GPUS GPUs from a
fake NVML, registers the curated providers, then prints p50/p95/p99 latency and queries per call.
Usage: DATABASE_URL=... python bench/gpu_list.py [--hosts 50] [--gpus 8] [--runs 300]
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comfyvn_site.settings.test")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from bench.scratch import throwaway_database  # noqa: E402
from compute.selectors import advice_inputs  # noqa: E402
from gpu.discovery import CachedSystemProbe, NvmlProbe  # noqa: E402
from gpu.selectors import gpu_devices_for_advice  # noqa: E402
from gpu.services import gpu_inventory_sync  # noqa: E402
from tests.gpu.conftest import FakeGpu, FakeHostProbe, FakeNvml  # noqa: E402


def timed(call, runs: int) -> tuple[list[float], int]:
    call()  # warm: the first /api/gpu/list also self-reports this host
    executed = []
    with connection.execute_wrapper(lambda execute, sql, *rest: executed.append(sql) or execute(sql, *rest)):
        call()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples, len(executed)


def report(label: str, samples: list[float], queries: int) -> None:
    cuts = statistics.quantiles(samples, n=100)
    print(f"{label:<34} p50 {cuts[49]:7.2f} ms  p95 {cuts[94]:7.2f} ms  p99 {cuts[98]:7.2f} ms  "
          f"{queries} queries/call")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--gpus", type=int, default=8)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    with throwaway_database():
        for h in range(args.hosts):
            nvml = FakeNvml([FakeGpu(uuid=f"GPU-{h}-{g}", name="NVIDIA A100-SXM4-80GB") for g in range(args.gpus)])
            probe = CachedSystemProbe(gpu_probe=NvmlProbe(load_nvml=lambda nvml=nvml: nvml),
                                      host_probe=FakeHostProbe(), ttl_seconds=0)
            gpu_inventory_sync(probe=probe, hostname=f"gpu-host-{h:03d}")
        client = APIClient()
        client.force_authenticate(get_user_model().objects.create_user("bench"))
        print(f"{args.hosts} hosts × {args.gpus} GPUs, {connection.vendor}, {args.runs} runs each")
        report("gpu_devices_for_advice()", *timed(gpu_devices_for_advice, args.runs))
        report("advice_inputs(), inventory unchanged", *timed(advice_inputs, args.runs))
        report("GET /api/gpu/list (in-process)", *timed(lambda: client.get("/api/gpu/list"), args.runs))


if __name__ == "__main__":
    main()
