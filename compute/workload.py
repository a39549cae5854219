"""Parsing the raw advise request (the guide's workload plus upstream aliases) into a validated `WorkloadSpec`.

Every problem is reported at once as a Django ValidationError keyed by the field path (`assets[2].size_mb`),
which the API renders as a 400. Unknown keys are ignored; null counts as absent.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError

from compute.types import Asset, BudgetMode, Workflow, WorkloadSpec

# Upper bounds keep the Decimal arithmetic exact and reject nonsense early; each is far above any real job.
MAX_MINUTES = 525_600  # one year
MAX_SIZE_MB = 1_000_000_000  # one petabyte
MAX_VRAM_GB = 100_000
MAX_GPU_COUNT = 1024
MAX_BUDGET_USD = 1_000_000_000
MAX_ITEMS = 10_000
# A residency rule names regions or prefixes ("eu", "us-east-1"); every cloud together has a few hundred regions.
MAX_REGIONS = 256
MAX_TEXT = 200
# Upstream's vocabulary for the same modes (reference/upstream-comfyvn.md §3.2 step 8).
BUDGET_MODE_ALIASES = {"frugal": BudgetMode.COST_SAVER, "premium": BudgetMode.SPEED}
DEFAULT_SOURCE = "api"


@dataclass(frozen=True)
class AdviceRequest:
    workload: WorkloadSpec
    prefer_remote: bool = False
    hardware_override: bool = False
    dry_run: bool = False
    source: str = DEFAULT_SOURCE
    idempotency_key: str = ""


class _Reader:
    """Typed access to nested JSON that records an error per bad field path instead of raising at the first."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def obj(self, value: Any, path: str) -> dict | None:
        if value is None or isinstance(value, dict):
            return value
        self.fail(path, "Must be an object.")
        return None

    def items(self, value: Any, path: str, max_items: int = MAX_ITEMS) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(path, "Must be a list.")
            return []
        if len(value) > max_items:
            self.fail(path, f"Must have at most {max_items} items.")
            return []
        return value

    def number(self, value: Any, path: str, maximum: int) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(path, "Must be a number.")
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.fail(path, "Must be a finite number.")
            return None
        if value < 0:
            self.fail(path, "Must not be negative.")
            return None
        if value > maximum:
            self.fail(path, f"Must be at most {maximum}.")
            return None
        if value == 0:
            return Decimal(0)  # also turns -0.0 into 0, so no estimate ever reads "$-0.00"
        return Decimal(str(value)) if isinstance(value, float) else Decimal(value)

    def boolean(self, value: Any, path: str) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        self.fail(path, "Must be a boolean.")
        return None

    def text(self, value: Any, path: str, max_length: int = MAX_TEXT) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(path, "Must be a string.")
            return None
        if len(value) > max_length:
            self.fail(path, f"Must be at most {max_length} characters.")
            return None
        if "\x00" in value:  # a JSON body is refused earlier (comfyvn_site/parsers.py); a query string is not
            self.fail(path, "Null characters are not allowed.")
            return None
        return value.strip()


def _first(*values: Any) -> Any:
    """The first value that is present (not None); upstream's `or` chains wrongly skipped 0 and false."""
    return next((value for value in values if value is not None), None)


def _get(data: dict | None, key: str) -> Any:
    return data.get(key) if data else None


def workload_parse(data: Any, *, path: str = "") -> WorkloadSpec:
    """Validate a raw workload object; raises ValidationError naming every bad field path."""
    reader = _Reader()
    spec = _workload_read(reader, data, path)
    if reader.errors:
        raise ValidationError(reader.errors)
    return spec


def advice_request_parse(data: Any, *, idempotency_key: str | None = None) -> AdviceRequest:
    """Accept `{"workload": {...}, "prefer_remote": ..., ...}` or the workload object itself as the whole body."""
    reader = _Reader()
    if idempotency_key and not (len(idempotency_key) <= 128 and idempotency_key.isascii()
                                and idempotency_key.isprintable()):
        reader.fail("Idempotency-Key", "Must be at most 128 printable ASCII characters.")
    body = reader.obj(data, "body")
    if body is None and not reader.errors:
        body = {}
    enveloped = body is not None and "workload" in body
    workload = _workload_read(reader, body.get("workload") if enveloped else body, "workload" if enveloped else "")
    flags = {name: reader.boolean(_get(body, name), name) for name in ("prefer_remote", "hardware_override", "dry_run")}
    source = reader.text(_get(body, "source"), "source", max_length=64)
    if reader.errors:
        raise ValidationError(reader.errors)
    return AdviceRequest(workload=workload, source=source or DEFAULT_SOURCE, idempotency_key=idempotency_key or "",
                         **{name: bool(value) for name, value in flags.items()})


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _workload_read(reader: _Reader, data: Any, path: str) -> WorkloadSpec:
    workload = reader.obj(data, path or "body") or {}

    def p(key: str) -> str:
        return _join(path, key)

    requirements = reader.obj(workload.get("requirements"), p("requirements"))
    estimate = reader.obj(workload.get("estimate"), p("estimate"))
    budget = reader.obj(workload.get("budget"), p("budget"))
    pipeline = reader.obj(workload.get("pipeline"), p("pipeline"))
    translation = reader.obj(_get(pipeline, "translation"), p("pipeline.translation"))
    top_translation = reader.obj(workload.get("translation"), p("translation"))
    cache = reader.obj(workload.get("cache"), p("cache"))
    comfyui = reader.obj(workload.get("comfyui"), p("comfyui"))
    asset_summary = reader.obj(workload.get("asset_summary"), p("asset_summary"))
    residency = reader.obj(workload.get("residency"), p("residency"))

    workload_type = _first(
        reader.text(_get(requirements, "type"), p("requirements.type"), 64),
        reader.text(workload.get("type"), p("type"), 64))
    vram_key = "min_vram_gb" if _get(requirements, "min_vram_gb") is not None else "min_vram"
    min_vram = reader.number(_get(requirements, vram_key), p(f"requirements.{vram_key}"), MAX_VRAM_GB)
    gpu_count = reader.number(_get(requirements, "gpu_count"), p("requirements.gpu_count"), MAX_GPU_COUNT)
    if gpu_count is not None and (gpu_count < 1 or gpu_count != gpu_count.to_integral_value()):
        reader.fail(p("requirements.gpu_count"), "Must be a whole number of at least 1.")
        gpu_count = None
    min_total_vram = reader.number(_get(requirements, "min_total_vram_gb"), p("requirements.min_total_vram_gb"),
                                   MAX_VRAM_GB)
    minutes = _first(
        reader.number(_get(requirements, "estimated_minutes"), p("requirements.estimated_minutes"), MAX_MINUTES),
        reader.number(workload.get("estimated_minutes"), p("estimated_minutes"), MAX_MINUTES),
        reader.number(_get(estimate, "duration_minutes"), p("estimate.duration_minutes"), MAX_MINUTES))

    assets = [_asset_read(reader, item, f"{p('assets')}[{i}]")
              for i, item in enumerate(reader.items(workload.get("assets"), p("assets")))]
    for key in ("items", "assets"):
        items = reader.items(_get(asset_summary, key), p(f"asset_summary.{key}"))
        assets += [_asset_read(reader, item, f"{p(f'asset_summary.{key}')}[{i}]") for i, item in enumerate(items)]
    workflows = [_workflow_read(reader, item, f"{p('workflows')}[{i}]", False)
                 for i, item in enumerate(reader.items(workload.get("workflows"), p("workflows")))]
    for key, cached in (("workflows", False), ("cached_workflows", True)):
        items = reader.items(_get(comfyui, key), p(f"comfyui.{key}"))
        workflows += [_workflow_read(reader, item, f"{p(f'comfyui.{key}')}[{i}]", cached)
                      for i, item in enumerate(items)]

    mode_text = reader.text(_get(budget, "mode"), p("budget.mode"), 32)
    mode = BudgetMode.BALANCED
    if mode_text:
        mode = BUDGET_MODE_ALIASES.get(mode_text.lower()) or next(
            (m for m in BudgetMode if m.value == mode_text.lower()), None)
        if mode is None:
            reader.fail(p("budget.mode"), f"Must be one of {', '.join(m.value for m in BudgetMode)}.")

    regions = None
    if residency is not None and residency.get("regions") is not None:
        region_path = p("residency.regions")
        regions = tuple(
            region.lower() for i, item in enumerate(reader.items(residency.get("regions"), region_path, MAX_REGIONS))
            if (region := reader.text(item, f"{region_path}[{i}]", 64)))

    translation_gpu = _first(reader.boolean(_get(translation, "requires_gpu"), p("pipeline.translation.requires_gpu")),
                             reader.boolean(_get(top_translation, "requires_gpu"), p("translation.requires_gpu")))
    return WorkloadSpec(
        workload_type=workload_type.lower() if workload_type else None,
        min_vram_gb=float(min_vram) if min_vram is not None else None,
        estimated_minutes=minutes,
        assets=tuple(asset for asset in assets if asset is not None),
        workflows=tuple(workflow for workflow in workflows if workflow is not None),
        budget_limit_usd=reader.number(_get(budget, "limit_usd"), p("budget.limit_usd"), MAX_BUDGET_USD),
        budget_mode=mode or BudgetMode.BALANCED,
        requires_gpu=bool(reader.boolean(workload.get("requires_gpu"), p("requires_gpu"))),
        translation_requires_gpu=bool(translation_gpu),
        cache_requires_persistent=bool(reader.boolean(_get(cache, "requires_persistent"),
                                                      p("cache.requires_persistent"))),
        residency_regions=regions,
        gpu_count=int(gpu_count) if gpu_count is not None else None,
        min_total_vram_gb=float(min_total_vram) if min_total_vram else None,
    )


def _asset_read(reader: _Reader, item: Any, path: str) -> Asset | None:
    """Size in MB from `size_mb`, else `size_bytes`, else `size_kb` (upstream's order); none given → 0."""
    asset = reader.obj(item, path)
    if asset is None:
        return None
    size_mb = reader.number(asset.get("size_mb"), f"{path}.size_mb", MAX_SIZE_MB)
    if size_mb is None and asset.get("size_bytes") is not None:
        size_bytes = reader.number(asset.get("size_bytes"), f"{path}.size_bytes", MAX_SIZE_MB * 1024 * 1024)
        size_mb = size_bytes / (1024 * 1024) if size_bytes is not None else None
    elif size_mb is None:
        size_kb = reader.number(asset.get("size_kb"), f"{path}.size_kb", MAX_SIZE_MB * 1024)
        size_mb = size_kb / 1024 if size_kb is not None else None
    name = reader.text(asset.get("name"), f"{path}.name") or ""
    cached = reader.boolean(asset.get("cached"), f"{path}.cached")
    return Asset(name=name, size_mb=float(size_mb or 0), cached=bool(cached))


def _workflow_read(reader: _Reader, item: Any, path: str, cached_list: bool) -> Workflow | None:
    """A workflow is cached when listed under `cached_workflows`, flagged `cached`, or has status "cached"."""
    workflow = reader.obj(item, path)
    if workflow is None:
        return None
    identifier = workflow.get("id")
    if isinstance(identifier, int) and not isinstance(identifier, bool):
        identifier = str(identifier)
    identifier = reader.text(identifier, f"{path}.id") or ""
    status = reader.text(workflow.get("status"), f"{path}.status", 64)
    cached = reader.boolean(workflow.get("cached"), f"{path}.cached")
    persist = _first(reader.boolean(workflow.get("persist_outputs"), f"{path}.persist_outputs"),
                     reader.boolean(workflow.get("requires_persistent_storage"),
                                    f"{path}.requires_persistent_storage"))
    return Workflow(id=identifier, cached=cached_list or bool(cached) or (status or "").lower() == "cached",
                    persist_outputs=bool(persist))


# GET /compute/advise convenience: upstream's query vocabulary (reference/upstream-comfyvn.md §1.1).
QUERY_TASK_TYPES = {"img": "render", "tts": "tts", "export": "export"}
SIZE_UNITS_MB = {"kb": Decimal(1) / 1024, "mb": Decimal(1), "gb": Decimal(1024)}
TRUE_WORDS, FALSE_WORDS = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def advice_query_parse(params: Any) -> AdviceRequest:
    """Build a request from `task`, `size` (MB, or with a kb/mb/gb suffix), `prefer_remote`, `hardware_override`.

    Unlike upstream, an unparseable size or flag is a 400, not silently ignored. A GET never records a summary.
    """
    reader = _Reader()
    task = (reader.text(params.get("task"), "task", 64) or "img").lower()
    size_mb = _size_read(reader, params.get("size"))
    flags = {}
    for name in ("prefer_remote", "hardware_override"):
        word = (params.get(name) or "").strip().lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            reader.fail(name, "Must be a boolean (true/false).")
        flags[name] = word in TRUE_WORDS
    if reader.errors:
        raise ValidationError(reader.errors)
    workload_type = QUERY_TASK_TYPES.get(task, task)
    workload: dict[str, Any] = {"type": workload_type,
                                "requirements": {"type": workload_type, "min_vram_gb": _query_floor(task, size_mb)}}
    if size_mb:
        workload["assets"] = [{"name": "payload", "size_mb": float(size_mb)}]
    return AdviceRequest(workload=workload_parse(workload), dry_run=True, **flags)


def _size_read(reader: _Reader, raw: Any) -> Decimal | None:
    text = (raw or "").strip().lower()
    if not text:
        return None
    unit = text[-2:] if text[-2:] in SIZE_UNITS_MB else "mb"
    number = text[:-2] if text[-2:] in SIZE_UNITS_MB else text
    try:
        value = Decimal(number.strip()) * SIZE_UNITS_MB[unit]
    except ArithmeticError:
        value = None
    if value is None or not value.is_finite() or value < 0 or value > MAX_SIZE_MB:
        reader.fail("size", "Must be a size in MB, or a number with a kb, mb or gb suffix.")
        return None
    return value


def _query_floor(task: str, size_mb: Decimal | None) -> int:
    """Upstream's query-string VRAM table; 0 is an explicit "no floor", so nothing is inferred from the size."""
    size = size_mb or 0
    if task == "img":
        return next((floor for above, floor in ((4096, 24), (2048, 16), (1024, 12)) if size >= above), 8)
    if task == "tts":
        return 12
    if task == "export":
        return 8 if size >= 2048 else 0
    return 0
