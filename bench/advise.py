"""Latency of the compute advisor: the pure `advise()` and the `advice_create` service end to end.

Usage: DATABASE_URL=postgres://… .venv/bin/python bench/advise.py [--sizes 10 100 1000 10000] [--pure-only]
       DATABASE_URL=postgres://… .venv/bin/python bench/advise.py --catalog [--runs 300]

Prints wall-clock p50/p95/p99, CPU-time p50/p95 in milliseconds and database queries per call, per candidate count,
through bench/report.py (so `make bench` puts them in its table). On a shared machine the CPU time is the advisor's
own cost; the wall clock adds waiting for a core. The pure advisor runs over synthetic candidates (varied prices,
billing increments, VRAM, regions and health) for a mix of workloads; the service run creates that many providers
inside a transaction that is rolled back, leaving the database as it was, and times advice_create three ways: a
repeated question with the registry unchanged (the per-process advice memo answers, after the registry check), a
new question each call (the candidate cache serves, the advisor runs), and a new question after a provider was
rewritten (the candidates are rebuilt every time).
Targets (issue 3): pure advisor p95 < 5 ms at 1,000 candidates and < 50 ms at 10,000.

--catalog (issue 7) imports every shared SkyPilot catalog (about 2,600 GPU offers) into providers made from the
curated templates, then asks "the cheapest single GPU with at least 24 GB" (cost_saver): in-process through
advice_create (p50/p95/p99 and queries per call; target p95 < 20 ms), and over HTTP against gunicorn (2 sync
workers, PostgreSQL) through POST /compute/advise and GET /api/offers/ (target p95 < 10 ms). The providers, their
offers and the bench user are deleted afterwards.
"""
import argparse
import gc
import http.client
import json
import os
import random
import statistics
import sys
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comfyvn_site.settings.base")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from bench.catalog_import import FILES as CATALOG_FILES  # noqa: E402
from bench.catalog_import import catalog_dir  # noqa: E402
from bench.report import emit  # noqa: E402
from bench.server import free_port, gunicorn_start, gunicorn_stop, wait_ready  # noqa: E402
from catalog.importers import catalog_text  # noqa: E402
from catalog.services import offer_catalog_import  # noqa: E402
from compute.advisor import advise  # noqa: E402
from compute.selectors import candidate_from_meta  # noqa: E402
from compute.services import advice_create  # noqa: E402
from compute.types import Health, WorkloadSpec  # noqa: E402
from compute.workload import workload_parse  # noqa: E402
from providers.models import Provider, ProviderKind, ProviderTemplate  # noqa: E402

WORKLOADS = [workload_parse(raw) for raw in (
    {"requirements": {"type": "voice_synthesis", "estimated_minutes": 3}, "budget": {"mode": "cost_saver"}},
    {"requirements": {"type": "cg_batch", "estimated_minutes": 240}, "budget": {"mode": "balanced", "limit_usd": 5},
     "assets": [{"name": "scene.tar", "size_mb": 2400}], "workflows": [{"id": "w", "cached": True}]},
    {"requirements": {"type": "render", "min_vram_gb": 24, "estimated_minutes": 45}, "budget": {"mode": "speed"},
     "residency": {"regions": ["eu", "us"]}},
    {"requirements": {"type": "translation"}, "pipeline": {"translation": {"requires_gpu": True}}},
)]
REGIONS = [["us-east"], ["us-west", "eu-central"], ["global"], ["marketplace"], ["eu-west"], ["on-prem"]]


def synthetic_meta(rng: random.Random) -> dict:
    max_vram = rng.choice([8, 12, 16, 24, 40, 48, 80])
    return {
        "gpu": rng.choice(["A10G", "A100", "RTX4090", "L4", "H100"]), "min_vram_gb": min(max_vram, 12),
        "max_vram_gb": max_vram,
        "cost": {"hourly_usd": round(rng.uniform(0, 4), 3), "billing_increment_minutes": rng.choice([0, 1, 15, 60])},
        "supports_large_assets": rng.random() < 0.7, "supports_persistent_storage": rng.random() < 0.7,
        "supports_long_running": rng.random() < 0.9, "supports_short_burst": rng.random() < 0.5,
        "regions": rng.choice(REGIONS), "startup_minutes": rng.choice([1, 2, 5, 8]),
        "bandwidth_mbps": rng.choice([100, 500, 1000]), "relative_speed": rng.choice([0.5, 1.0, 1.3, 2.0]),
        "preferred_workloads": rng.sample(["cg_batch", "voice_synthesis", "translation"], 1),
        "policy_hints": {"cg_batch": "hint"},
    }


def candidates(count: int, seed: int = 7) -> list:
    """Synthetic candidates built in the selector's order (priority, then id), as a query would deliver them."""
    rng = random.Random(seed)
    rows = sorted((rng.randrange(100), f"p-{i:05d}", rng.random() < 0.95, rng.choice(list(Health)), synthetic_meta(rng))
                  for i in range(count))
    return [candidate_from_meta(provider_id=provider_id, name=f"P {provider_id}", service="bench",
                                base_url="https://x.test", priority=priority, active=active, health=health, meta=meta,
                                price_fetched_at=None)
            for priority, provider_id, active, health, meta in rows]


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return statistics.median(samples), cuts[94], cuts[98]


def timed(call, repeats: int, before=None) -> tuple[list[float], list[float]]:
    """Wall-clock and this process's CPU milliseconds per call (CPU time excludes waiting for a shared core);
    `before(i)`, when given, runs ahead of each call, untimed."""
    wall, cpu = [], []
    for i in range(repeats):
        if before:
            before(i)
        start, start_cpu = time.perf_counter(), time.process_time()
        call(i)
        cpu.append((time.process_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    return wall, cpu


def repeats_for(count: int) -> int:
    return max(100, min(1000, 200_000 // count))


def bench_pure(count: int, freeze: bool) -> tuple[list[float], list[float]]:
    if freeze:  # what gunicorn.conf.py does at boot; the candidates come later, from the first request
        gc.collect()
        gc.freeze()
    pool = candidates(count)
    timed(lambda i: advise(WORKLOADS[i % len(WORKLOADS)], pool, []), 5)  # warm up
    return timed(lambda i: advise(WORKLOADS[i % len(WORKLOADS)], pool, []), repeats_for(count))


def vacuum() -> None:
    """Clear the dead rows a run leaves (rolled-back inserts, rewrites), as autovacuum would: candidate rebuilds and
    offer queries scan those tables, so without this each run would slow the next one (and on a server with
    autovacuum off, every later run)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE providers_provider, catalog_offer, compute_jobsummary")


def new_question(i: int, workloads=WORKLOADS) -> WorkloadSpec:
    """Workload i with a runtime no earlier call used: a new analysis, so the advice memo cannot answer."""
    return replace(workloads[i % len(workloads)], estimated_minutes=Decimal(100_000 + i) / 100)


def bench_service(count: int) -> list[tuple[str, tuple[list[float], list[float]], int]]:
    """advice_create over `count` providers: a repeated question (the advice memo answers), a new question each call
    (the candidate cache serves), and a new question after one provider was rewritten (every call rebuilds the
    candidates, as before the cache)."""
    rng = random.Random(11)
    with transaction.atomic():
        Provider.objects.bulk_create([
            Provider(id=f"bench-{i:05d}", name=f"Bench {i}", kind=ProviderKind.REMOTE, service="bench",
                     base_url="https://x.test", priority=rng.randrange(100), meta=synthetic_meta(rng))
            for i in range(count)], batch_size=1000)
        runs = max(20, repeats_for(count) // 5)

        def repeated_call(i: int) -> None:
            advice_create(workload=WORKLOADS[i % len(WORKLOADS)], source="bench")

        def new_call(i: int) -> None:
            advice_create(workload=new_question(i), source="bench")

        def cold_call(i: int) -> None:
            advice_create(workload=new_question(runs + i), source="bench")

        def rewrite(i: int) -> None:
            Provider.objects.filter(id="bench-00000").update(updated_at=timezone.now())

        timed(repeated_call, 3)
        rows = [("advice_create() repeated question", timed(repeated_call, runs), queries_per_call(repeated_call)),
                ("advice_create() new question", timed(new_call, runs), queries_per_call(new_call)),
                ("advice_create() new question after a registry write", timed(cold_call, runs, before=rewrite),
                 queries_per_call(cold_call, before=rewrite))]
        transaction.set_rollback(True)
    vacuum()
    return rows


def queries_per_call(call, before=None) -> int:
    """Database queries one more call makes (statements sent together in one round trip count one each), with a
    question of its own so the timed calls' memo is not disturbed."""
    if before:
        before(UNTIMED)
    with CaptureQueriesContext(connection) as queries:
        call(UNTIMED)
    return len(queries)


UNTIMED = 1_000_000  # a call index no timed call uses


CHEAPEST_24GB = {"requirements": {"type": "cg_batch", "min_vram_gb": 24, "estimated_minutes": 60},
                 "budget": {"mode": "cost_saver"}}


@transaction.atomic
def catalog_seed() -> list[Provider]:
    """One provider per shared catalog file, made from its curated template (prefixed bench-), offers imported;
    all or nothing, so a missing file leaves no bench provider behind to break the next run."""
    providers = []
    for template_id, relative in CATALOG_FILES.items():
        template = ProviderTemplate.objects.get(id=template_id)
        provider = Provider.objects.create(
            id=f"bench-{template_id}", name=f"Bench {template.name}", kind=ProviderKind.REMOTE,
            service=template.service, base_url=template.base_url, priority=template.priority, meta=template.meta,
            template=template)
        providers.append(provider)
        offer_catalog_import(provider=provider, file=catalog_text((catalog_dir() / relative).read_bytes()),
                             source_version="bench")
    return providers


def http_timed(port: int, token: str, method: str, path: str, body, runs: int) -> list[float]:
    """Wall-clock ms per request over one keep-alive connection, as a client library would hold it.

    `body`: None, a dict, or a function of the request's number giving the dict (a new question each time)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    samples = []
    for i in range(runs + 10):
        document = body(i) if callable(body) else body
        payload = json.dumps(document) if document is not None else None
        start = time.perf_counter()
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise SystemExit(f"{method} {path} -> {response.status}: {data[:300]!r}")
        if i >= 10:  # the first requests warm both workers
            samples.append((time.perf_counter() - start) * 1000)
    conn.close()
    return samples


def print_row(what: str, wall: list[float], extra: str = "") -> None:
    p50, p95, p99 = percentiles(wall)
    print(f"  {what:<44} {len(wall):>5}  {p50:>8.3f}  {p95:>8.3f}  {p99:>8.3f}  {extra}", flush=True)


def bench_catalog(runs: int) -> None:
    workload = workload_parse(CHEAPEST_24GB)
    providers, user = catalog_seed(), get_user_model().objects.create_user("bench-catalog")
    try:
        token = Token.objects.create(user=user).key
        from catalog.models import Offer
        others = Provider.objects.filter(kind=ProviderKind.REMOTE).exclude(pk__in=[p.pk for p in providers]).count()
        print(f"catalog run: {Offer.objects.filter(provider__in=providers).count()} offers from "
              f"{len(providers)} imported catalogs, {others} other remote providers in the registry")
        advice = advice_create(workload=workload, dry_run=True).advice
        offer = advice.remote_candidate.candidate.offer
        print(f"  answer: {advice.remote_candidate.candidate.provider.id} {offer.instance_type} {offer.gpu} "
              f"{offer.vram_gb:g} GB in {offer.region}/{offer.zone} at ${offer.hourly_usd}/h")
        with CaptureQueriesContext(connection) as queries:
            advice_create(workload=workload, dry_run=True)
        print(f"  {'what':<44} {'runs':>5}  {'p50 ms':>8}  {'p95 ms':>8}  {'p99 ms':>8}")
        wall, _ = timed(lambda i: advice_create(workload=new_question(i, [workload]), dry_run=True), runs)
        print_row("advice_create() in-process, new question", wall, f"{len(queries)} queries per call")
        port = free_port()
        server = gunicorn_start(database_url=os.environ["DATABASE_URL"], port=port)
        try:
            wait_ready(server, f"http://127.0.0.1:{port}", workers=2)
            def body(i: int) -> dict:  # a new question each time, so the advisor runs (no memo)
                minutes = CHEAPEST_24GB["requirements"]["estimated_minutes"] + (i + 1) / 100
                return {"workload": {**CHEAPEST_24GB, "requirements": {**CHEAPEST_24GB["requirements"],
                                                                        "estimated_minutes": minutes}},
                        "dry_run": True}
            print_row("HTTP POST /compute/advise, new question",
                      http_timed(port, token, "POST", "/compute/advise", body, runs))
            print_row("HTTP GET /api/offers/?min_vram_gb=24&gpu_count=1",
                      http_timed(port, token, "GET", "/api/offers/?min_vram_gb=24&gpu_count=1&limit=1", None, runs))
        finally:
            gunicorn_stop(server)
    finally:
        for provider in providers:
            provider.delete()
        user.delete()
        vacuum()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1_000, 10_000])
    parser.add_argument("--pure-only", action="store_true", help="Skip the database-backed service run.")
    parser.add_argument("--catalog", action="store_true",
                        help="Only the run over the imported shared catalogs, in-process and over HTTP (gunicorn).")
    parser.add_argument("--runs", type=int, default=300, help="Calls per figure in the catalog run.")
    parser.add_argument("--gc-freeze", action="store_true",
                        help="gc.freeze() before building the candidates, as gunicorn.conf.py does at boot, so "
                             "full collections skip the loaded app but still walk the candidates.")
    args = parser.parse_args()
    if args.catalog:
        bench_catalog(args.runs)
        return
    existing = Provider.objects.filter(kind=ProviderKind.REMOTE).count()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    figures = []
    for count in args.sizes:
        rows = [("advise() pure" + (" gc-frozen" if args.gc_freeze else ""), bench_pure(count, args.gc_freeze), 0)]
        if not args.pure_only:
            rows += bench_service(count)
        for what, (wall, cpu), queries in rows:
            p50, p95, p99 = percentiles(wall)
            cpu50, cpu95, _ = percentiles(cpu)
            figures.append({"case": what, "candidates": count, "runs": len(wall), "p50_ms": p50, "p95_ms": p95,
                            "p99_ms": p99, "cpu_p50_ms": cpu50, "cpu_p95_ms": cpu95, "queries": queries})
    emit("advise", figures, notes=[f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load}; "
                                   f"{existing} remote providers already registered (added to every service run)"])


if __name__ == "__main__":
    main()
