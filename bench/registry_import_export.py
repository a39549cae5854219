"""Benchmark the registry's bulk paths through the API: import (create, unchanged, all changed, one bad) and export.

Creates a throwaway test database (DATABASE_URL's server, or SQLite), then for each size N imports N RunPod
entries with a credential each and prints wall time and queries per request.
Usage: DATABASE_URL=... python bench/registry_import_export.py [--sizes 1000 5000]
"""
import argparse
import os
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
from providers.models import Provider  # noqa: E402

IMPORT, EXPORT = "/api/providers/import", "/api/providers/export"


def timed(label: str, call, expected_status: int) -> None:
    executed = []
    start = time.perf_counter()
    with connection.execute_wrapper(lambda execute, sql, *rest: executed.append(sql) or execute(sql, *rest)):
        response = call()
    elapsed = time.perf_counter() - start
    assert response.status_code == expected_status, response.content[:500]
    print(f"  {label:<36} {elapsed:7.2f} s  {len(executed):6d} queries")


def entries(size: int, suffix: str = "") -> list[dict]:
    return [{"id": f"bench-{n:05d}", "name": f"Bench {n}{suffix}", "service": "runpod",
             "base_url": "https://rest.runpod.io/v1", "priority": n % 100, "config": {"api_key": f"sk-bench-{n}"}}
            for n in range(size)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    args = parser.parse_args()
    with throwaway_database():
        client = APIClient()
        client.force_authenticate(get_user_model().objects.create_user("bench", is_staff=True))
        for size in args.sizes:
            Provider.objects.exclude(id="local").delete()
            print(f"{size} entries, {connection.vendor}")
            bad = [*entries(size), {"id": "bench-bad", "name": "Bad", "service": "runpod", "base_url": "ftp://x"}]
            timed("import, all new", lambda size=size: client.post(IMPORT, entries(size), format="json"), 200)
            timed("import replace, unchanged", lambda size=size: client.post(
                f"{IMPORT}?replace=true", entries(size), format="json"), 200)
            timed("import, every entry renamed", lambda size=size: client.post(
                IMPORT, entries(size, " v2"), format="json"), 200)
            timed("import with 1 bad entry (rejected)", lambda bad=bad: client.post(IMPORT, bad, format="json"), 400)
            timed("export", lambda: client.get(EXPORT), 200)


if __name__ == "__main__":
    main()
