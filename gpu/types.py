"""Plain data the GPU inventory hands to other apps (the advisor reads these, never GPU models)."""
from dataclasses import dataclass
from datetime import datetime


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
    temperature_c: float | None = None
    reported_at: datetime | None = None


@dataclass(frozen=True)
class InventoryDevice:
    """A row of /api/gpu/list `devices`: a host's CPU (`id` "cpu") or one of its GPUs (`id` "cuda:<index>")."""

    id: str
    host: str
    kind: str
    name: str
    uuid: str | None
    memory_total_mb: int | None
    memory_free_mb: int | None
    utilization_pct: float | None
    temperature_c: float | None
    available: bool
    stale: bool
    reported_at: datetime


@dataclass(frozen=True)
class RemoteDevice:
    """A row of /api/gpu/list `remote`: a remote provider, available only once a health check succeeded."""

    id: str
    provider_id: str
    name: str
    service: str
    active: bool
    available: bool
    health_state: str
    last_checked_at: datetime | None


@dataclass(frozen=True)
class GpuListing:
    """Everything /api/gpu/list shows: the inventory, the remote providers, and what this service host sees."""

    devices: list[InventoryDevice]
    remote: list[RemoteDevice]
    system: dict
    nvml: dict
