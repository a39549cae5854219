"""How a bench script hands its figures to `make bench`: print a table, and write JSON where BENCH_JSON points.

A row is a flat dict: `case` names what was measured, the other keys are figures (milliseconds end in `_ms`).
"""
import json
import os
import platform
from pathlib import Path

import psutil


def machine() -> dict:
    """The machine the figures came from; they mean nothing without it."""
    cpu = platform.processor() or platform.machine()
    model = Path("/proc/cpuinfo")
    if model.exists():
        lines = model.read_text().splitlines()
        names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
        cpu = names[0] if names else cpu
    return {"cpu": cpu, "cores": psutil.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "kernel": platform.release(),
            # Other work on the machine skews every figure; the 1-minute load says how busy it was.
            "load_1m": round(os.getloadavg()[0], 2)}


def table(rows: list[dict]) -> str:
    """A plain fixed-width table over the union of the rows' keys, in first-seen order."""
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max([len(column)] + [len(line[i]) for line in cells]) for i, column in enumerate(columns)]
    lines = ["  ".join(column.ljust(width) for column, width in zip(columns, widths, strict=True))]
    lines += ["  ".join(value.rjust(width) for value, width in zip(line, widths, strict=True)) for line in cells]
    return "\n".join(lines)


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return str(value)


def emit(name: str, rows: list[dict], notes: list[str] | None = None, **extra) -> dict:
    """Print the rows as a table and write {name, rows, notes, …} to $BENCH_JSON when set; return that dict."""
    report = {"name": name, "rows": rows, "notes": notes or [], **extra}
    print(f"== {name}")
    if rows:
        print(table(rows))
    for note in report["notes"]:
        print(f"note: {note}")
    if target := os.environ.get("BENCH_JSON"):
        Path(target).write_text(json.dumps(report, indent=2))
    return report
