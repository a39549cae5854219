"""Over HTTP: POST /compute/advise against the trivial GET /api/ping, same stack, same run, at 1, 8 and 32 clients.

The ratio advise/ping at equal concurrency is the advisor's own cost above the framework's floor (token auth, DRF,
JSON rendering, one gunicorn round trip). Every case asks for gzip (`Accept-Encoding: gzip`), as requests, httpx,
Go's net/http and browsers do, and reads the answer without decoding it, as wrk does. Advise is loaded four ways:
`advise` repeats one question, as a scheduler submitting the same kind of job does, so it is answered from the
per-process advice memo (compute/services.py), compressed from the answer's kept gzip stream, and pays for the
request and the job-summary insert (which checks the data versions itself); `advise-plain` is the same without gzip
(all 145 KB on the wire); `advise-dry` repeats it as a dry run, which reads the data versions instead of storing a
summary: what recording costs; `advise-new` asks a question no worker has seen on every request (the estimated
minutes change each time), so the advisor runs over all 1,000 providers and the answer is rendered and compressed
afresh. Peak worker RSS is sampled throughout; first vs last shows whether memory stays flat. Each row also splits
a request's CPU time between the gunicorn workers, PostgreSQL, the load generator and idle cores.

    DATABASE_URL=postgres://… python -m bench.http_bench [--providers 1000] [--duration 10]
"""
import argparse
import gzip
import json
import urllib.error
import urllib.request
from collections import Counter

from bench.http_load import LoadResult, run_load
from bench.report import emit
from bench.server import CpuMeter, Service

# A mid-sized render job: big enough to filter on VRAM and assets, small enough that most of the registry is eligible.
ADVISE_WORKLOAD = {
    "requirements": {"type": "cg_batch", "min_vram_gb": 16, "estimated_minutes": 90},
    "assets": [{"name": "scene_cache.tar", "size_mb": 2400}],
    "workflows": [{"id": "cg-upscale", "cached": False, "persist_outputs": True}],
    "budget": {"limit_usd": 20, "mode": "balanced"},
}
CONCURRENCY = (1, 8, 32)
QUESTIONS_PER_ROW = 20_000  # more than a 10 s row sends; beyond that they recur 20,000 apart (the memo keeps 32)
SLICES = 5  # turns per row
CASE_NOTES = {"advise-plain": " (no gzip asked)", "advise-dry": " (dry run: no summary stored)",
              "advise-new": " (new question each time)"}


def distinct_bodies(row: int) -> list[bytes]:
    """The same job with a different estimated runtime each time (a new analysis, so a new question); each row of
    the table gets questions of its own."""
    bodies = []
    for i in range(row * QUESTIONS_PER_ROW, (row + 1) * QUESTIONS_PER_ROW):
        workload = json.loads(json.dumps(ADVISE_WORKLOAD))
        workload["requirements"]["estimated_minutes"] = 60 + i / 100
        bodies.append(json.dumps(workload).encode())
    return bodies


def endpoint_probe(service: Service, path: str, body: bytes | None = None,
                   headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """One request with urllib: whether an endpoint exists and answers 2xx before it is put under load."""
    headers = dict(service.auth_headers, **({"Content-Type": "application/json"} if body else {}), **(headers or {}))
    request = urllib.request.Request(service.base_url + path, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def measure(*, providers: int, duration_s: float, warmup_s: float) -> dict:
    rows, notes = [], []
    advise_body = json.dumps(ADVISE_WORKLOAD).encode()
    dry_run_body = json.dumps({"workload": ADVISE_WORKLOAD, "dry_run": True}).encode()
    with Service(providers=providers) as service:
        # Every case asks for gzip, as requests, httpx, Go's net/http and browsers do; `advise-plain` does not.
        headers = dict(service.auth_headers, **{"Content-Type": "application/json", "Accept-Encoding": "gzip"})
        plain_headers = {key: value for key, value in headers.items() if key != "Accept-Encoding"}
        targets = [("ping", "/api/ping", "GET", [b""], headers)]
        status, answer = endpoint_probe(service, "/compute/advise", advise_body)
        if 200 <= status < 300:
            targets.append(("advise", "/compute/advise", "POST", [advise_body], headers))
            targets.append(("advise-plain", "/compute/advise", "POST", [advise_body], plain_headers))
            targets.append(("advise-dry", "/compute/advise", "POST", [dry_run_body], headers))
            targets.append(("advise-new", "/compute/advise", "POST", None, headers))
            # What each advise answer weighs, by top-level key: rendering it is part of the cost measured below.
            sizes = {key: len(json.dumps(value, separators=(",", ":")))
                     for key, value in json.loads(answer).items()}
            heaviest = ", ".join(f"{key} {size:,}" for key, size in sorted(sizes.items(), key=lambda kv: -kv[1])[:3])
            _, packed = endpoint_probe(service, "/compute/advise", advise_body, {"Accept-Encoding": "gzip"})
            json.loads(gzip.decompress(packed))  # a gzip answer must decode to JSON before it is put under load
            notes.append(f"each advise answer is {len(answer):,} bytes ({len(packed):,} gzipped); "
                         f"heaviest keys: {heaviest}")
        else:
            notes.append(f"POST /compute/advise answered {status} ({answer[:120]!r}); advise not measured")
        for name, path, method, bodies, case_headers in targets:
            run_load(service.base_url + path, method=method, bodies=bodies or distinct_bodies(len(CONCURRENCY)),
                     headers=case_headers, concurrency=8, duration_s=warmup_s)
        sampler = service.memory_sampler()
        by_case = {}
        for row, clients in enumerate(CONCURRENCY):
            results = {name: LoadResult(clients) for name, *_ in targets}
            cpu = {name: Counter() for name, *_ in targets}
            questions = distinct_bodies(row)
            # Each row is taken in SLICES turns (ping, advise, new question, ping, ...), so the ratios compare
            # throughputs measured over the same minutes: this machine's speed drifts by tens of percent within one.
            for _ in range(SLICES):
                for name, path, method, bodies, case_headers in targets:
                    meter = service.cpu_meter()
                    result = run_load(service.base_url + path, method=method,
                                      bodies=bodies or questions[results[name].requests:], headers=case_headers,
                                      concurrency=clients, duration_s=duration_s / SLICES)
                    cpu[name] += meter.seconds()
                    results[name].add(result)
            for name, path, method, *_ in targets:
                result = by_case[(name, clients)] = results[name].summary()
                label = f"{method} {path}" + CASE_NOTES.get(name, "")
                rows.append({"case": f"{label} c={clients}", "providers": providers,
                             "rps": result["throughput_rps"], "p50_ms": result["p50_ms"], "p95_ms": result["p95_ms"],
                             "p99_ms": result["p99_ms"], "errors": result["errors"],
                             **CpuMeter.per_request(cpu[name], result["requests"])})
        memory = sampler.stop()
    for name in ("advise", "advise-plain", "advise-dry", "advise-new"):
        for clients in CONCURRENCY:
            if (name, clients) in by_case:
                ratio = by_case[(name, clients)]["throughput_rps"] / by_case[("ping", clients)]["throughput_rps"]
                rows.append({"case": f"{name}/ping throughput c={clients}", "ratio": round(ratio, 3)})
    rows.append({"case": "gunicorn worker RSS during the run", **memory})
    return emit("http", rows, notes, workers=2, duration_s=duration_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint and concurrency")
    parser.add_argument("--warmup", type=float, default=2.0)
    args = parser.parse_args()
    measure(providers=args.providers, duration_s=args.duration, warmup_s=args.warmup)


if __name__ == "__main__":
    main()
