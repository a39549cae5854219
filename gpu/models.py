"""Models: the GPU inventory, one row per reporting host and one per GPU (data and invariants, no workflows)."""
from django.db import models
from django.db.models import F, Q


class GpuHost(models.Model):
    """A machine that reports its CPU, memory and NVIDIA GPUs (`manage.py gpu_report` or the periodic task)."""

    hostname = models.CharField(max_length=255, help_text="Name the host reports under (GPU_HOSTNAME or its OS name).")
    cpu_count = models.PositiveIntegerField(help_text="Logical CPUs.")
    cpu_percent = models.FloatField(null=True, blank=True, help_text="CPU utilisation at the last report, 0–100.")
    memory_total_mb = models.PositiveBigIntegerField(help_text="Physical memory, MiB.")
    memory_available_mb = models.PositiveBigIntegerField(help_text="Memory available at the last report, MiB.")
    nvml_available = models.BooleanField(default=False, help_text="Whether NVML (the NVIDIA driver) answered.")
    nvml_reason = models.TextField(blank=True, help_text="Why GPUs are missing or incomplete; empty when all is well.")
    driver_version = models.CharField(max_length=64, blank=True, help_text="NVIDIA driver version, e.g. '550.54.15'.")
    cuda_driver_version = models.CharField(max_length=16, blank=True,
                                           help_text="Highest CUDA version the driver supports, e.g. '12.4'.")
    reported_at = models.DateTimeField(db_index=True, help_text="When the host last reported; old reports are stale.")

    class Meta:
        ordering = ("hostname",)
        verbose_name = "GPU host"
        constraints = [
            models.UniqueConstraint(fields=("hostname",), name="%(app_label)s_%(class)s_unique_hostname"),
            models.CheckConstraint(condition=Q(cpu_count__gte=1), name="%(app_label)s_%(class)s_cpu_count_gte_1"),
            models.CheckConstraint(condition=Q(cpu_percent__isnull=True) | Q(cpu_percent__gte=0, cpu_percent__lte=100),
                                   name="%(app_label)s_%(class)s_cpu_percent_range"),
            models.CheckConstraint(condition=Q(memory_available_mb__lte=F("memory_total_mb")),
                                   name="%(app_label)s_%(class)s_memory_available_lte_total"),
        ]

    def __str__(self) -> str:
        return self.hostname


class GpuDevice(models.Model):
    """One NVIDIA GPU of a host, keyed by its NVML UUID (stable across reboots and index changes)."""

    uuid = models.CharField(max_length=96, help_text="NVML UUID, e.g. 'GPU-5c1d…'; identifies the GPU everywhere.")
    host = models.ForeignKey(GpuHost, on_delete=models.CASCADE, related_name="devices",
                             help_text="Host the GPU was last reported by.")
    index = models.PositiveSmallIntegerField(help_text="NVML index on its host (the `cuda:<index>` id).")
    name = models.CharField(max_length=200, help_text="Product name, e.g. 'NVIDIA H100 80GB HBM3'.")
    memory_total_mb = models.PositiveBigIntegerField(help_text="Total memory, MiB.")
    memory_free_mb = models.PositiveBigIntegerField(help_text="Free memory at the last report, MiB (all processes).")
    memory_used_mb = models.PositiveBigIntegerField(help_text="Used memory at the last report, MiB (all processes).")
    utilization_pct = models.FloatField(null=True, blank=True,
                                        help_text="GPU utilisation at the last report, 0–100; empty if unsupported.")
    temperature_c = models.FloatField(null=True, blank=True, help_text="Core temperature, °C; empty if unsupported.")
    reported_at = models.DateTimeField(help_text="When the host last reported this GPU.")

    class Meta:
        ordering = ("host__hostname", "index")
        verbose_name = "GPU device"
        constraints = [
            models.UniqueConstraint(fields=("uuid",), name="%(app_label)s_%(class)s_unique_uuid"),
            models.UniqueConstraint(fields=("host", "index"), name="%(app_label)s_%(class)s_unique_host_index"),
            models.CheckConstraint(condition=Q(memory_free_mb__lte=F("memory_total_mb")),
                                   name="%(app_label)s_%(class)s_memory_free_lte_total"),
            models.CheckConstraint(
                condition=Q(utilization_pct__isnull=True) | Q(utilization_pct__gte=0, utilization_pct__lte=100),
                name="%(app_label)s_%(class)s_utilization_range"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.host.hostname} cuda:{self.index})"
