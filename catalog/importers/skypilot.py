"""Parser for SkyPilot catalog `vms.csv` files (skypilot-org/skypilot-catalog, schema v5-v8): pure, no database.

Every cloud orders the columns differently, so cells are read by header name. The data traps it handles are listed
in shared/reference/peers.md section 3.3: CPU-only rows, GCP's accelerator-only rows and 700.0 sentinel prices,
exact duplicate rows, and GPU memory that is per GPU in one file, per instance in another and GB-as-MiB in a third.
"""
import ast
import csv
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from catalog.gpus import gpu_canonical, gpu_is_excluded
from catalog.importers.types import OfferRow, ParseResult
from comfyvn_site.exceptions import InvalidCatalog

REQUIRED_COLUMNS = ("InstanceType", "AcceleratorName", "AcceleratorCount", "vCPUs", "MemoryGiB", "Price", "Region")
# GCP marks accelerators without a real price (TPUs) with 700.0 (peers.md 3.3 item 3).
SENTINEL_PRICES = frozenset({Decimal("700")})
# A catalog size within this fraction of the table's is the same GPU (gpuhunt's correct_gpu_memory_gib uses 7 %).
VRAM_TOLERANCE = 0.07
MAX_NUMBER = Decimal("999999")  # above any price, vCPU count or GiB of host memory
MAX_GPU_INFO_CHARS = 4096
MAX_TEXT = {"InstanceType": 200, "Region": 128, "AvailabilityZone": 128}
_MICRO = Decimal("0.000001")


def parse(lines: Iterable[str]) -> ParseResult:
    """Parse a whole file into validated GPU offers; raise InvalidCatalog naming the first bad line.

    `lines` is an iterable of text lines opened with newline="" (a file object or a list), so quoted cells and
    CRLF endings are read exactly as the csv module writes them.
    """
    reader = csv.reader(lines, strict=True)
    result = ParseResult()
    try:
        header = next(reader, None)
        if header is None:
            raise InvalidCatalog("The catalog file is empty.", extra={"line": 1})
        columns = _columns(header)
        seen: dict[tuple[str, str, str], OfferRow] = {}
        for cells in reader:
            if not cells:
                continue
            line = reader.line_num
            result.rows_read += 1
            row = _row(dict(zip(columns, cells, strict=False)), len(cells), len(columns), line, result)
            if row is None:
                continue
            first = seen.get(row.key)
            if first is None:
                seen[row.key] = row
            elif first.same_offer(row):
                result.skip("duplicate", line)
            else:
                raise InvalidCatalog(
                    f"Line {line}: {row.instance_type} in {row.location} repeats line {first.line} with different "
                    "values; the price is ambiguous.", extra={"line": line, "first_line": first.line})
    except csv.Error as exc:
        line = reader.line_num
        raise InvalidCatalog(f"Line {line}: not valid CSV ({exc}).", extra={"line": line}) from exc
    except UnicodeDecodeError as exc:
        line = reader.line_num + 1
        raise InvalidCatalog(f"Line {line}: the file is not UTF-8 text.", extra={"line": line}) from exc
    result.rows = list(seen.values())
    return result


def _columns(header: list[str]) -> list[str]:
    columns = [name.strip().lstrip("\ufeff") for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise InvalidCatalog(f"Line 1: the header lacks {', '.join(missing)}; is this a SkyPilot vms.csv?",
                             extra={"line": 1, "missing_columns": missing})
    return columns


def _row(cell: dict[str, str], width: int, expected: int, line: int, result: ParseResult) -> OfferRow | None:
    """One validated offer, or None after recording why the row is skipped."""
    if width != expected:
        raise InvalidCatalog(f"Line {line}: expected {expected} fields like the header, found {width}.",
                             extra={"line": line})
    name = cell["AcceleratorName"].strip()
    instance_type = _text(cell, "InstanceType", line)
    reason = None
    if not name:
        reason = "cpu_only"
    elif gpu_is_excluded(name):
        reason = "not_a_gpu"
    elif not instance_type:
        reason = "accelerator_only"  # GCP: the GPU's own price; the host is priced on another row
    elif gpu_canonical(name) is None:
        reason = f"unknown_gpu ({name})"
    if reason:
        result.skip(reason, line)
        return None
    count = _number(cell, "AcceleratorCount", line)
    if not count:
        raise InvalidCatalog(f"Line {line}: AcceleratorCount must be above 0 for a GPU row.", extra={"line": line})
    if count != count.to_integral_value():
        result.skip("fractional_gpu", line)
        return None
    price = _number(cell, "Price", line)
    if price is None:
        result.skip("no_price", line)
        return None
    if price in SENTINEL_PRICES:
        result.skip("sentinel_price", line)
        return None
    spot = _number(cell, "SpotPrice", line)
    if spot is not None and (spot == 0 or spot in SENTINEL_PRICES):
        spot = None  # Vast writes 0.00 for "no spot market"; a free GPU is not a price
    vcpus, memory = _number(cell, "vCPUs", line), _number(cell, "MemoryGiB", line)
    region = _text(cell, "Region", line)
    if vcpus is None or memory is None or not region:
        raise InvalidCatalog(f"Line {line}: vCPUs, MemoryGiB and Region are required for a GPU row.",
                             extra={"line": line})
    vram, note = _vram_per_gpu(name, int(count), cell.get("GpuInfo", ""), line)
    if note:
        result.note(note, line)
    return OfferRow(line=line, instance_type=instance_type, gpu_name=gpu_canonical(name).name, gpu_count=int(count),
                    vram_per_gpu_gb=vram, vcpus=float(vcpus), memory_gb=float(memory), region=region,
                    zone=_text(cell, "AvailabilityZone", line), hourly_usd=price, spot_hourly_usd=spot)


def _text(cell: dict[str, str], column: str, line: int) -> str:
    value = (cell.get(column) or "").strip()
    if len(value) > MAX_TEXT[column]:
        raise InvalidCatalog(f"Line {line}: {column} is longer than {MAX_TEXT[column]} characters.",
                             extra={"line": line})
    return value


def _number(cell: dict[str, str], column: str, line: int) -> Decimal | None:
    """A finite, non-negative number, or None for an empty cell."""
    raw = (cell.get(column) or "").strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0 or value > MAX_NUMBER:
        raise InvalidCatalog(f"Line {line}: {column} {raw[:40]!r} is not a number between 0 and {MAX_NUMBER}.",
                             extra={"line": line, "column": column})
    return value.quantize(_MICRO, rounding=ROUND_HALF_UP)


def _vram_per_gpu(name: str, count: int, gpu_info: str, line: int) -> tuple[float, str | None]:
    """The table's VRAM, unless the catalog's own figure says less beyond the tolerance: never claim more memory
    than either source allows. Returns the size and a note when the catalog disagreed."""
    table_gb = gpu_canonical(name).vram_gb
    readings = _gpu_info_readings(gpu_info, count, line)
    if not readings or any(abs(gb - table_gb) <= VRAM_TOLERANCE * table_gb for gb in readings):
        return float(table_gb), None
    lowest = min(readings)
    if lowest < table_gb:
        return float(int(lowest * 10) / 10), "vram_below_table"
    return float(table_gb), "vram_above_table"


def _gpu_info_readings(gpu_info: str, count: int, line: int) -> set[float]:
    """Every per-GPU size in GiB the GpuInfo cell can mean.

    The cell is a Python literal (never JSON, never eval'd). Files disagree on its units: Lambda's sizes are per GPU,
    Vast's are per instance, RunPod v8 writes GB as MiB; GCP, Azure and Paperspace put only a name there.
    """
    text = (gpu_info or "").strip()
    if not text.startswith("{"):
        return set()
    if len(text) > MAX_GPU_INFO_CHARS:
        raise InvalidCatalog(f"Line {line}: GpuInfo is longer than {MAX_GPU_INFO_CHARS} characters.",
                             extra={"line": line})
    try:
        sizes = _gpu_info_sizes(text)
    except ValueError as exc:
        raise InvalidCatalog(f"Line {line}: GpuInfo is not a SkyPilot GPU literal ({exc}).",
                             extra={"line": line}) from exc
    readings = set()
    for mib in sizes:
        if mib <= 0:
            continue
        gib = mib if mib < 1024 else mib / 1024  # no GPU has under 1 GiB: a figure that small is GB written as MiB
        readings.update((gib, gib / count))
    return readings


@lru_cache(maxsize=4096)
def _gpu_info_sizes(text: str) -> tuple[float, ...]:
    """The MiB figures of one GpuInfo literal; cached, as a catalog repeats each cell across regions and zones."""
    try:
        info = ast.literal_eval(text)
        sizes = [gpu["MemoryInfo"]["SizeInMiB"] for gpu in info.get("Gpus", ()) if "MemoryInfo" in gpu]
        sizes += [info["TotalGpuMemoryInMiB"]] if "TotalGpuMemoryInMiB" in info else []
        return tuple(float(size) for size in sizes)
    except (ValueError, TypeError, SyntaxError, KeyError, AttributeError, MemoryError, RecursionError) as exc:
        raise ValueError(type(exc).__name__) from exc
