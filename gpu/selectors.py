"""Selectors: read-only queries over the GPU inventory; a host that stopped reporting is stale, never advised."""
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone

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
    return list(gpu_devices_fresh(now=now)[0])


def gpu_devices_fresh(*, now: datetime | None = None) -> tuple[tuple[GpuDevice, ...], datetime | None,
                                                               datetime | None]:
    """gpu_devices_for_advice(), and for how long that stays the answer while the inventory is unchanged: after the
    last excluded host turned stale and until the first included one does (None: no bound). The advisor keeps it
    that long (compute.selectors.advice_inputs), so this runs once per inventory change, not per advice."""
    now = now or timezone.now()
    stale_after = timedelta(seconds=settings.GPU_STALE_AFTER_SECONDS)
    rows = models.GpuDevice.objects.order_by("host__hostname", "index").values_list(*_ADVICE_FIELDS,
                                                                                    "host__reported_at")
    fresh, turned_stale, turns_stale = [], [], []
    for *fields, host_reported_at in rows:
        stale_at = host_reported_at + stale_after
        if now <= stale_at:
            fresh.append(GpuDevice(*fields))
            turns_stale.append(stale_at)
        else:
            turned_stale.append(stale_at)
    return tuple(fresh), max(turned_stale, default=None), min(turns_stale, default=None)


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
