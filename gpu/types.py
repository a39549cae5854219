"""Plain data the GPU inventory hands to other apps (the advisor reads these, never GPU models)."""
from dataclasses import dataclass


@dataclass(frozen=True)
class GpuDevice:
    """One GPU that a fresh host reported; memory in MiB, None where unknown."""

    host: str
    index: int
    uuid: str
    name: str
    memory_total_mb: int | None
    memory_free_mb: int | None
    utilization_pct: float | None
