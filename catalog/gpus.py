"""The canonical GPU table (catalog/data/gpus.json) and the normaliser that maps catalog names onto it.

Catalog memory fields are wrong in known ways (RunPod writes GB as MiB, Lambda's total is per GPU, H200/B200 appear
as 80 GB), so VRAM comes from this table; a catalog's own figure is only a hint (see importers/skypilot.py).
"""
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

GPU_TABLE_PATH = Path(__file__).resolve().parent / "data" / "gpus.json"


@dataclass(frozen=True)
class GpuSpec:
    name: str
    vendor: str
    vram_gb: int
    aliases: tuple[str, ...] = ()


def gpu_name_key(name: str) -> str:
    """Spelling-insensitive key: 'RTX6000-Ada', 'rtx 6000 ada' and 'RTX6000Ada' are the same GPU."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


@cache
def _table() -> tuple[dict[str, GpuSpec], frozenset[str]]:
    data = json.loads(GPU_TABLE_PATH.read_text())
    by_key: dict[str, GpuSpec] = {}
    for entry in data["gpus"]:
        spec = GpuSpec(name=entry["name"], vendor=entry["vendor"], vram_gb=int(entry["vram_gb"]),
                       aliases=tuple(entry.get("aliases", ())))
        for name in (spec.name, *spec.aliases):
            key = gpu_name_key(name)
            if key in by_key and by_key[key] != spec:
                raise ValueError(f"{GPU_TABLE_PATH}: '{name}' names both {by_key[key].name} and {spec.name}")
            by_key[key] = spec
    return by_key, frozenset(gpu_name_key(name) for name in data.get("not_gpus", ()))


def gpu_canonical(name: str) -> GpuSpec | None:
    """The table entry for a catalog or user spelling of a GPU name, or None when the name is unknown."""
    return _table()[0].get(gpu_name_key(name))


def gpu_is_excluded(name: str) -> bool:
    """Accelerators the catalogs list that are not GPUs (TPUs): skipped on import, never guessed."""
    return gpu_name_key(name) in _table()[1]


def gpu_specs() -> list[GpuSpec]:
    """Every canonical GPU once, in table order."""
    return list(dict.fromkeys(_table()[0].values()))
