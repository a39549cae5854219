"""Selectors: read-only queries over the GPU inventory; a host that stopped reporting is stale, never advised."""
import functools
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Prefetch
from django.utils import timezone

from comfyvn_site.db import repeated_query_rows
from gpu import models
from gpu.discovery import system_probe
from gpu.types import GpuDevice, GpuListing, InventoryDevice, RemoteDevice
from providers.models import ProviderKind
from providers.selectors import provider_list


def _fresh_since(now: datetime | None) -> datetime:
    return (now or timezone.now()) - timedelta(seconds=settings.GPU_STALE_AFTER_SECONDS)


# What a remote entry of the listing shows (credentials and config are never loaded for it).
_REMOTE_FIELDS = ("id", "name", "service", "active", "last_health", "last_checked_at", "priority")
_ADVICE_FIELDS = ("host__hostname", "index", "uuid", "name", "memory_total_mb", "memory_free_mb", "utilization_pct",
                  "temperature_c", "reported_at")


def gpu_devices_for_advice(*, now: datetime | None = None) -> list[GpuDevice]:
    """GPUs of every host that reported within GPU_STALE_AFTER_SECONDS, with their free VRAM; one query."""
    return gpu_devices_from_rows(repeated_query_rows(*gpu_advice_query(now=now)))


def gpu_advice_query(*, now: datetime | None = None) -> tuple[str, list]:
    """gpu_devices_for_advice's query, for a caller that sends it along with others (compute.selectors)."""
    sql, params, at = _advice_sql(connection.vendor)
    return sql, [*params[:at], _db_datetime(_fresh_since(now)), *params[at + 1:]]


def gpu_devices_from_rows(rows: list[tuple]) -> list[GpuDevice]:
    return [GpuDevice(*row[:-1], reported_at=_datetime(row[-1])) for row in rows]


_FRESH_SINCE = datetime(2000, 1, 1, tzinfo=UTC)  # stands for the request's cut-off in the compiled query


@functools.cache
def _advice_sql(vendor: str) -> tuple[str, tuple, int]:
    """Every advice runs this query; compiling it cost more than running it, so it is compiled once per vendor.

    Returns the SQL, its parameters and the position of the cut-off among them.
    """
    query = (models.GpuDevice.objects.filter(host__reported_at__gte=_FRESH_SINCE)
             .order_by("host__hostname", "index").values_list(*_ADVICE_FIELDS))
    sql, params = query.query.sql_with_params()
    return sql, params, params.index(_db_datetime(_FRESH_SINCE))


def _db_datetime(value: datetime):
    return models.GpuHost._meta.get_field("reported_at").get_db_prep_value(value, connection)


def _datetime(value: datetime | str) -> datetime:
    """A raw cursor gives SQLite's timestamps as text; PostgreSQL's arrive as aware datetimes."""
    value = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)


def gpu_listing_get(*, now: datetime | None = None) -> GpuListing:
    """The /api/gpu/list view: every host's CPU and GPUs (stale ones flagged), every remote provider, and this
    host's own reading. Three queries however many hosts, GPUs or providers there are."""
    fresh_since = _fresh_since(now)
    hosts = models.GpuHost.objects.prefetch_related(
        Prefetch("devices", queryset=models.GpuDevice.objects.order_by("index")))
    devices: list[InventoryDevice] = []
    for host in hosts:
        stale = host.reported_at < fresh_since
        devices.append(InventoryDevice(
            id="cpu", host=host.hostname, kind="cpu", name=f"CPU ({host.cpu_count} logical cores)", uuid=None,
            memory_total_mb=host.memory_total_mb, memory_free_mb=host.memory_available_mb,
            utilization_pct=host.cpu_percent, temperature_c=None, available=not stale, stale=stale,
            reported_at=host.reported_at))
        devices.extend(InventoryDevice(
            id=f"cuda:{gpu.index}", host=host.hostname, kind="gpu", name=gpu.name, uuid=gpu.uuid,
            memory_total_mb=gpu.memory_total_mb, memory_free_mb=gpu.memory_free_mb,
            utilization_pct=gpu.utilization_pct, temperature_c=gpu.temperature_c, available=not stale,
            stale=stale, reported_at=gpu.reported_at) for gpu in host.devices.all())
    remote = [RemoteDevice(id=f"remote:{p.id}", provider_id=p.id, name=p.name, service=p.service, active=p.active,
                           available=p.available, health_state=p.health_state, last_checked_at=p.last_checked_at)
              for p in provider_list().filter(kind=ProviderKind.REMOTE).only(*_REMOTE_FIELDS)]
    snapshot = system_probe().probe()
    return GpuListing(
        devices=devices,
        remote=remote,
        system={"hostname": settings.GPU_HOSTNAME, "cpu_count": snapshot.host.cpu_count,
                "cpu_percent": snapshot.host.cpu_percent, "memory_total_mb": snapshot.host.memory_total_mb,
                "memory_available_mb": snapshot.host.memory_available_mb, "gpu_count": len(snapshot.gpu.gpus),
                "stale_after_seconds": settings.GPU_STALE_AFTER_SECONDS},
        nvml={"available": snapshot.gpu.nvml_available, "reason": snapshot.gpu.reason,
              "driver_version": snapshot.gpu.driver_version or None,
              "cuda_driver_version": snapshot.gpu.cuda_driver_version or None},
    )
