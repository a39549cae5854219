"""`make bench`: run every bench script, print one table, write bench/results/latest.json.

Each script runs in its own process inside a fresh network namespace (`unshare -n`, loopback only), so nothing a
benchmark starts can reach a real vendor; PostgreSQL is reached over its Unix socket. Where unshare is not allowed
the scripts run directly and the report says so. Every bench/*.py script runs (the issue's four first, in its
order, then the rest alphabetically).
"""
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.report import machine, table
from bench.server import local_socket_url

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
# In the order the issue lists them: in-process advise, HTTP, health sweep, then the soak.
EXPECTED = ("advise", "http_bench", "health_sweep", "soak")
# The harness itself, not benchmarks.
LIBRARY = {"__init__", "http_load", "report", "run_all", "scratch", "server"}
TIMEOUT_S = 900


def isolation_available() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True)
    return probe.returncode == 0


def run_script(name: str, *, isolated: bool) -> dict:
    """Run bench/<name>.py; its report is the JSON it wrote to $BENCH_JSON, else its output."""
    with tempfile.NamedTemporaryFile(suffix=".json") as target:
        env = dict(os.environ, BENCH_JSON=target.name, PYTHONPATH=str(REPO))
        if database_url := env.get("DATABASE_URL"):
            env["DATABASE_URL"] = local_socket_url(database_url)
        command = [sys.executable, "-m", f"bench.{name}"]
        if isolated:
            command = ["unshare", "-n", "sh", "-c", "ip link set lo up && exec " + shlex.join(command)]
        started = time.monotonic()
        try:
            done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return {"name": name, "rows": [], "notes": [f"did not finish within {TIMEOUT_S} s"], "failed": True}
        written = Path(target.name).read_text()
        report = json.loads(written) if written else {"name": name, "rows": [], "notes": []}
        report["seconds"] = round(time.monotonic() - started, 1)
        if done.returncode != 0:
            report["failed"] = True
            report["notes"].append(f"exit {done.returncode}: {(done.stderr or done.stdout)[-2000:]}")
        elif not written:
            report["output"] = done.stdout[-4000:]
        return report


def scripts() -> list[str]:
    present = {path.stem for path in BENCH.glob("*.py")} - LIBRARY
    return list(EXPECTED) + sorted(present - set(EXPECTED))


def main() -> int:
    isolated = isolation_available()
    before = machine()
    reports = []
    for name in scripts():
        print(f"running bench/{name}.py ...", flush=True)
        reports.append(run_script(name, isolated=isolated))
    rows = [{"bench": report["name"], **row} for report in reports for row in report["rows"]]
    print()
    print(table(rows) if rows else "(no figures)")
    for report in reports:
        for note in report["notes"]:
            print(f"[{report['name']}] {note}")
        if report.get("output"):
            print(f"[{report['name']}] output:\n{report['output']}")
    if not isolated:
        print("note: unshare -n is not available here; benchmarks ran without network isolation")
    print(f"machine: {before}")
    latest = {"finished_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": before,
              "load_1m_at_end": machine()["load_1m"],
              "network_isolated": isolated, "benches": reports}
    (BENCH / "results" / "latest.json").write_text(json.dumps(latest, indent=2) + "\n")
    print(f"\nwrote {BENCH / 'results' / 'latest.json'}")
    return 1 if any(report.get("failed") for report in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
