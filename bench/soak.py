"""Soak: 32 clients for 60 s against gunicorn + PostgreSQL, advise mixed with registry reads and imports.

Passes only if no request failed and nothing was lost: every successful non-dry-run advise left exactly one job
summary, and the summaries in the database are exactly the ones the responses named. Exits 1 otherwise.

    DATABASE_URL=postgres://… python -m bench.soak [--duration 60] [--providers 1000]
"""
import argparse
import asyncio
import json
import sys
import urllib.request

from bench.http_bench import ADVISE_WORKLOAD
from bench.http_load import run_load_async
from bench.report import emit
from bench.server import Service

# 32 clients in all: mostly schedulers asking for advice, some dashboards reading, an operator importing.
MIX = {"advise": 20, "list": 4, "detail": 4, "import": 4}
IMPORT_SIZE = 20
# Above gunicorn's own 30 s worker timeout: a request the client gives up on would still be served and counted
# by the server, and show up as an "unexpected" summary rather than as what it is.
REQUEST_TIMEOUT_S = 45


def registry_slice(service: Service) -> dict:
    """A slice of the seeded registry as exported, to be re-imported (upsert) over and over during the soak."""
    request = urllib.request.Request(f"{service.base_url}/api/providers/export", headers=service.auth_headers)
    with urllib.request.urlopen(request, timeout=30) as answer:
        exported = json.load(answer)
    entries = [entry for entry in exported["providers"] if entry["id"].startswith("bench-")][:IMPORT_SIZE]
    return {"version": exported.get("version", 1), "providers": entries, "overwrite": True, "replace": False}


async def soak(service: Service, duration_s: float) -> tuple[dict, set[str]]:
    summary_ids: set[str] = set()

    def remember_summary(status: int, body: bytes) -> None:
        if status == 200:
            summary_ids.add(json.loads(body)["job_summary"]["id"])

    headers = dict(service.auth_headers, **{"Content-Type": "application/json"})
    document = registry_slice(service)
    streams = {
        "advise": dict(url="/compute/advise", method="POST", body=json.dumps(ADVISE_WORKLOAD).encode(),
                       on_response=remember_summary),
        "list": dict(url="/api/providers/?limit=50&offset=100", method="GET"),
        "detail": dict(url=f"/api/providers/{document['providers'][0]['id']}", method="GET"),
        "import": dict(url="/api/providers/import", method="POST", body=json.dumps(document).encode()),
    }
    results = await asyncio.gather(*(
        run_load_async(service.base_url + stream.pop("url"), headers=headers, concurrency=MIX[name],
                       duration_s=duration_s, timeout_s=REQUEST_TIMEOUT_S, **stream)
        for name, stream in streams.items()))
    return dict(zip(streams, results, strict=True)), summary_ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--providers", type=int, default=1000)
    args = parser.parse_args()
    with Service(providers=args.providers) as service:
        sampler = service.memory_sampler()
        results, summary_ids = asyncio.run(soak(service, args.duration))
        memory = sampler.stop()
        from compute.models import JobSummary

        stored = {str(pk) for pk in JobSummary.objects.values_list("id", flat=True)}
    rows = []
    for name, result in results.items():
        figures = result.summary()
        rows.append({"case": f"soak {name} ({MIX[name]} clients)", "requests": figures["requests"],
                     "rps": figures["throughput_rps"], "p50_ms": figures["p50_ms"], "p99_ms": figures["p99_ms"],
                     "errors": figures["errors"]})
    advised = results["advise"].statuses[200]
    errors = sum(result.errors for result in results.values())
    lost = len(summary_ids - stored) + (advised - len(summary_ids))
    unexpected = len(stored - summary_ids)
    rows.append({"case": "soak totals", "errors": errors, "advise_ok": advised, "job_summaries": len(stored),
                 "lost": lost, "unexpected": unexpected})
    rows.append({"case": "soak worker RSS", **memory})
    notes = [] if errors == 0 and lost == 0 and unexpected == 0 else [
        f"FAILED: {errors} errors, {lost} advice without a summary, {unexpected} summaries no response named"]
    emit("soak", rows, notes, duration_s=args.duration, mix=MIX,
         failures={name: dict(result.failures) for name, result in results.items()},
         statuses={name: dict(result.statuses) for name, result in results.items()})
    return 1 if notes else 0


if __name__ == "__main__":
    sys.exit(main())
