"""A bounded HTTP/1.1 load generator: N closed-loop clients on asyncio that stop by themselves.

Standard library only, so a benchmark needs nothing the service does not already install. Each client keeps its
connection alive while the server allows it (gunicorn's sync workers close after every response; the client then
reconnects, which is what a real caller of that deployment pays too). The run ends at a deadline or after a request
budget, whichever comes first; every request also has its own timeout, so a wedged server cannot stall it.

    python -m bench.http_load http://127.0.0.1:8000/api/ping -H 'Authorization: Token …' -c 8 -d 10
"""
import argparse
import asyncio
import itertools
import json
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    """Raw outcome of one run; `summary()` is what gets printed and stored."""

    concurrency: int
    elapsed_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + sum(self.failures.values())

    @property
    def errors(self) -> int:
        """Transport failures plus every answer outside 2xx."""
        return sum(self.failures.values()) + sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    def add(self, other: "LoadResult") -> "LoadResult":
        """Fold another run at the same concurrency into this one (e.g. slices of one row taken in turns)."""
        self.elapsed_s += other.elapsed_s
        self.latencies_ms += other.latencies_ms
        self.statuses.update(other.statuses)
        self.failures.update(other.failures)
        return self

    def percentile(self, q: float) -> float | None:
        """Nearest-rank percentile of successful and failed answers alike, in milliseconds."""
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]

    def summary(self) -> dict:
        rps = self.requests / self.elapsed_s if self.elapsed_s else 0.0
        return {
            "concurrency": self.concurrency,
            "requests": self.requests,
            "errors": self.errors,
            "elapsed_s": round(self.elapsed_s, 3),
            "throughput_rps": round(rps, 1),
            "p50_ms": _round(self.percentile(50)),
            "p95_ms": _round(self.percentile(95)),
            "p99_ms": _round(self.percentile(99)),
            "max_ms": _round(max(self.latencies_ms, default=None)),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "failures": dict(self.failures),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


class _Connection:
    """One keep-alive HTTP/1.1 connection; reopens itself when the server closed it."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, payload: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(payload)
        await self.writer.drain()
        status, headers = await self._read_head()
        body = await self._read_body(headers)
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, body

    async def _read_head(self) -> tuple[int, dict[str, str]]:
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        return status, headers

    async def _read_body(self, headers: dict[str, str]) -> bytes:
        if "content-length" in headers:
            return await self.reader.readexactly(int(headers["content-length"]))
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                chunks.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            await self.reader.readuntil(b"\r\n")
            return b"".join(chunks)
        body = await self.reader.read()
        self.close()
        return body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def build_request(url: str, *, method: str = "GET", body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    """Serialise one HTTP/1.1 request; every client sends the same bytes."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    lines = [f"{method.upper()} {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method.upper() in {"POST", "PUT", "PATCH"}:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def run_load_async(url: str, *, method: str = "GET", body: bytes = b"", headers: dict[str, str] | None = None,
                         concurrency: int = 1, duration_s: float | None = None, max_requests: int | None = None,
                         timeout_s: float = 10.0, on_response=None, bodies: Sequence[bytes] = ()) -> LoadResult:
    """Drive `concurrency` closed-loop clients until `duration_s` passes or `max_requests` were sent.

    `on_response(status, body)` (optional) sees every answer, e.g. to count the job ids a soak created. `bodies`
    (optional, instead of `body`): the requests take these in turn, e.g. to ask a question no cache has seen.
    """
    if duration_s is None and max_requests is None:
        raise ValueError("give duration_s or max_requests: the load must stop by itself")
    parts = urlsplit(url)
    if parts.hostname not in {"127.0.0.1", "::1", "localhost"}:
        raise ValueError(f"load is only ever sent to this machine (loopback), not {parts.hostname!r}")
    payloads = [build_request(url, method=method, body=each, headers=headers) for each in bodies or [body]]
    turn = itertools.count()
    result = LoadResult(concurrency=concurrency)
    budget = [max_requests if max_requests is not None else math.inf]
    start = time.perf_counter()
    deadline = start + duration_s if duration_s is not None else math.inf

    async def client() -> None:
        connection = _Connection(parts.hostname, parts.port or 80)
        while time.perf_counter() < deadline and budget[0] > 0:
            budget[0] -= 1
            sent = time.perf_counter()
            try:
                payload = payloads[next(turn) % len(payloads)]
                status, answer = await asyncio.wait_for(connection.request(payload), timeout_s)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                result.failures[type(exc).__name__] += 1
                connection.close()
            else:
                result.statuses[status] += 1
                if on_response is not None:
                    on_response(status, answer)
            result.latencies_ms.append((time.perf_counter() - sent) * 1000)
        connection.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    result.elapsed_s = time.perf_counter() - start
    return result


def run_load(url: str, **options) -> LoadResult:
    """Synchronous wrapper around `run_load_async` for scripts."""
    return asyncio.run(run_load_async(url, **options))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("-X", "--method", default="GET")
    parser.add_argument("-b", "--body", default="", help="request body (use with -H 'Content-Type: …')")
    parser.add_argument("-H", "--header", action="append", default=[], help="'Name: value', repeatable")
    parser.add_argument("-c", "--concurrency", type=int, default=1)
    parser.add_argument("-d", "--duration", type=float, help="seconds to run")
    parser.add_argument("-n", "--requests", type=int, help="total requests to send")
    parser.add_argument("--timeout", type=float, default=10.0, help="per-request timeout in seconds")
    args = parser.parse_args(argv)
    if args.duration is None and args.requests is None:
        parser.error("give --duration or --requests")
    headers = dict(h.split(":", 1) for h in args.header)
    result = run_load(args.url, method=args.method, body=args.body.encode(), concurrency=args.concurrency,
                      headers={k.strip(): v.strip() for k, v in headers.items()}, duration_s=args.duration,
                      max_requests=args.requests, timeout_s=args.timeout)
    print(json.dumps(result.summary(), indent=2))


if __name__ == "__main__":
    main()
