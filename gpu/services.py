"""Services: every write to the GPU inventory, and the periodic schedule that keeps it fresh."""
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import Q
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from gpu.discovery import SystemProbe, SystemSnapshot, system_probe
from gpu.models import GpuDevice, GpuHost

logger = logging.getLogger(__name__)
GPU_REPORT_SCHEDULE_NAME = "gpu-inventory-report"
GPU_REPORT_TASK = "gpu.tasks.gpu_inventory_sync_task"


def gpu_inventory_sync(*, probe: SystemProbe | None = None, hostname: str | None = None,
                       now: datetime | None = None) -> GpuHost:
    """Record what this host sees now: its host row upserted by hostname, its GPUs by UUID.

    Safe to repeat and to run concurrently (the host row is locked): the same reading changes nothing but
    `reported_at`. GPUs the host no longer reports (removed, or failing mid-read) are deleted, so the advisor
    is never offered a GPU its own host cannot read. The reading happens before the transaction opens.
    """
    snapshot = (probe or system_probe()).probe()
    return _inventory_apply(hostname=hostname or settings.GPU_HOSTNAME, snapshot=snapshot, now=now or timezone.now())


@transaction.atomic
def _inventory_apply(*, hostname: str, snapshot: SystemSnapshot, now: datetime) -> GpuHost:
    cpu, nvml = snapshot.host, snapshot.gpu
    host_fields = {
        "cpu_count": cpu.cpu_count, "cpu_percent": cpu.cpu_percent, "memory_total_mb": cpu.memory_total_mb,
        "memory_available_mb": min(cpu.memory_available_mb, cpu.memory_total_mb),
        "nvml_available": nvml.nvml_available, "nvml_reason": nvml.reason or "",
        "driver_version": nvml.driver_version, "cuda_driver_version": nvml.cuda_driver_version, "reported_at": now,
    }
    GpuHost(hostname=hostname, **host_fields).full_clean(validate_unique=False, validate_constraints=False)
    host, _ = GpuHost.objects.update_or_create(hostname=hostname, defaults=host_fields)

    reported = {gpu.uuid: gpu for gpu in nvml.gpus}
    current = {device.uuid: device for device in host.devices.all()}
    # Drop GPUs this host no longer reports, and recreate any that changed index or arrived from another host,
    # so the (host, index) and uuid constraints never clash mid-update.
    kept = {uuid: device for uuid, device in current.items()
            if uuid in reported and reported[uuid].index == device.index}
    GpuDevice.objects.filter((Q(host=host) & ~Q(uuid__in=list(kept))) | (Q(uuid__in=list(reported)) & ~Q(host=host))
                             ).delete()
    for gpu in nvml.gpus:
        device = kept.get(gpu.uuid) or GpuDevice(uuid=gpu.uuid, host=host)
        device.index, device.name = gpu.index, gpu.name[:200]
        device.memory_total_mb, device.memory_used_mb = gpu.memory_total_mb, gpu.memory_used_mb
        device.memory_free_mb = min(gpu.memory_free_mb, gpu.memory_total_mb)
        device.utilization_pct, device.temperature_c = gpu.utilization_pct, gpu.temperature_c
        device.reported_at = now
        device.full_clean(exclude=["host"], validate_unique=False, validate_constraints=False)  # host upserted above
        device.save()
    return host


def gpu_self_report_if_due(*, now: datetime | None = None) -> GpuHost | None:
    """Embedded default: the service's own host reports itself when its row is missing or older than the probe TTL.

    One indexed query when the row is fresh; the reading itself comes from the shared cached snapshot. Best
    effort: when the database refuses the write (SQLite locked by a concurrent writer, which is then reporting
    this same host), the listing goes on without it rather than fail the request.
    """
    if not settings.GPU_SELF_REPORT:
        return None
    now = now or timezone.now()
    fresh_since = now - timedelta(seconds=settings.GPU_PROBE_TTL_SECONDS)
    if GpuHost.objects.filter(hostname=settings.GPU_HOSTNAME, reported_at__gt=fresh_since).exists():
        return None
    try:
        return gpu_inventory_sync(now=now)
    except OperationalError as exc:
        logger.warning("GPU self-report skipped: %s", exc)
        return None


@transaction.atomic
def gpu_report_schedule_upsert(*, every_seconds: int | None = None) -> PeriodicTask:
    """Create or update the "gpu-inventory-report" beat schedule by name, without touching any other schedule.

    The interval is only set when the schedule is created, or when `every_seconds` is given, so an interval
    an admin edited survives `make setup`. Reports older than one interval expire unsent rather than pile up
    while workers are down.
    """
    task = PeriodicTask.objects.select_for_update().filter(name=GPU_REPORT_SCHEDULE_NAME).first()
    if task is None:
        task = PeriodicTask(name=GPU_REPORT_SCHEDULE_NAME, enabled=True,
                            description="Every worker reports its host's CPU and GPUs into the GPU inventory.")
    if task.pk is None or every_seconds:
        every = every_seconds or settings.GPU_REPORT_INTERVAL_SECONDS
        task.interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=IntervalSchedule.SECONDS)
        task.crontab = task.solar = task.clocked = None  # celery-beat allows exactly one schedule type
        task.expire_seconds = every
    task.task = GPU_REPORT_TASK
    task.full_clean()
    task.save()
    return task
