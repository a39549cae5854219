"""Benchmark: catalog import time, for each shared SkyPilot file and for a synthetic AWS-sized file.

    DATABASE_URL=postgres://... .venv/bin/python bench/catalog_import.py [--rows 48000]

Each file is imported three times into a throw-away provider: first (everything created), again (everything
unchanged) and with a new fetched_at (everything updated). The synthetic files have AWS v8's ~48k rows (it is not in
the shared snapshot): one with a GPU offer every 5th row (the real file is mostly CPU-only), and the worst case
where every row is a GPU offer. Prints wall time per pass; the providers it
creates (bench-*) are deleted again, with their offers.
"""
import argparse
import csv
import io
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comfyvn_site.settings.base")
import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from catalog.importers import catalog_text  # noqa: E402
from catalog.services import offer_catalog_import  # noqa: E402
from providers.models import Provider  # noqa: E402

FILES = {"lambda": "v8/lambda/vms.csv", "vast": "v8/vast/vms.csv", "paperspace": "v6/paperspace/vms.csv",
         "runpod": "v7/runpod/vms.csv", "azure": "v6/azure/vms.csv"}
AWS_HEADER = ["InstanceType", "AcceleratorName", "AcceleratorCount", "vCPUs", "MemoryGiB", "GpuInfo", "Price",
              "SpotPrice", "Region", "AvailabilityZone", "Arch"]
GPUS = [("T4", 16), ("A10G", 24), ("L4", 24), ("L40S", 48), ("A100", 40), ("A100-80GB", 80), ("H100", 80),
        ("H200", 141), ("V100", 16), ("T4g", 16)]


def catalog_dir() -> Path:
    return Path(os.environ.get("COMFYVN_CATALOG_DIR") or Path(settings.BASE_DIR).parent / "shared/catalogs/skypilot")


def synthetic_aws(rows: int, gpu_every: int) -> bytes:
    """An AWS-v8-shaped vms.csv of `rows` distinct rows, every `gpu_every`-th a GPU offer (GpuInfo literal, spot
    price, zone) and the others CPU-only, as most of the real AWS file is."""
    out = io.StringIO()
    writer = csv.writer(out)  # writes CRLF, like the catalog fetchers
    writer.writerow(AWS_HEADER)
    for n in range(rows):
        if n % gpu_every:
            writer.writerow([f"m{n // 400}.{n % 7}xlarge", "", "", 4.0, 16.0, "", 0.2, 0.08, f"region-{n % 400 // 16}",
                             f"region-{n % 400 // 16}{'abcdefghijklmnop'[n % 16]}", "x86_64"])
            continue
        name, gb = GPUS[n % len(GPUS)]
        count = (1, 2, 4, 8)[(n // len(GPUS)) % 4]
        info = {"Gpus": [{"Name": name, "Manufacturer": "NVIDIA", "Count": count,
                          "MemoryInfo": {"SizeInMiB": gb * 1024}}], "TotalGpuMemoryInMiB": gb * 1024 * count}
        price = round(0.35 * count * (1 + n % 97 / 10), 4)
        region = f"region-{n % 400 // 16}"
        writer.writerow([f"g{n // 400}.{count}x{name.lower()}", name, float(count), 4.0 * count, 16.0 * count,
                         repr(info), price, round(price * 0.4, 4), region, region + "abcdefghijklmnop"[n % 16],
                         "x86_64"])
    return out.getvalue().encode()


def timed_passes(label: str, data: bytes) -> None:
    provider = Provider.objects.create(id=f"bench-{label}", name=f"bench {label}", service="bench")
    try:
        start = datetime.now(UTC)
        times = []
        for fetched_at in (start, start, start + timedelta(hours=1)):
            began = time.perf_counter()
            report = offer_catalog_import(provider=provider, file=catalog_text(data), source_version="bench",
                                          fetched_at=fetched_at)
            times.append((time.perf_counter() - began, report))
        first, again, newer = times
        print(f"{label:<14} {len(data) / 1e6:6.2f} MB {first[1].rows_read:>6} rows {first[1].created:>6} offers  "
              f"create {first[0]:6.2f} s  unchanged {again[0]:6.2f} s  update {newer[0]:6.2f} s  "
              f"(2nd pass: {again[1].created} created, {again[1].updated} updated)")
    finally:
        provider.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=48000, help="Rows in the synthetic AWS-sized file.")
    args = parser.parse_args()
    print(f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
    for pid, relative in FILES.items():
        timed_passes(pid, (catalog_dir() / relative).read_bytes())
    timed_passes("aws-mixed", synthetic_aws(args.rows, gpu_every=5))
    timed_passes("aws-all-gpu", synthetic_aws(args.rows, gpu_every=1))


if __name__ == "__main__":
    main()
