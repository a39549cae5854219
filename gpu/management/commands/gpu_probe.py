"""Print what this host sees (CPU, memory, NVIDIA GPUs) as a table; reads the hardware, writes nothing."""
from django.core.management.base import BaseCommand

from gpu.discovery import CachedSystemProbe, NvmlProbe, PsutilHostProbe

COLUMNS = ("id", "name", "memory total MiB", "memory free MiB", "util %", "temp °C", "uuid")


def _cell(value) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


class Command(BaseCommand):
    help = "Show this host's CPU, memory and NVIDIA GPUs as NVML and psutil see them, and why GPUs may be missing."

    def handle(self, *args, **options):
        probe = CachedSystemProbe(gpu_probe=NvmlProbe(), host_probe=PsutilHostProbe(cpu_sample_seconds=0.5),
                                  ttl_seconds=0)
        snapshot = probe.probe()
        host, nvml = snapshot.host, snapshot.gpu
        rows = [("cpu", f"CPU ({host.cpu_count} logical cores)", host.memory_total_mb, host.memory_available_mb,
                 host.cpu_percent, None, None)]
        rows += [(f"cuda:{g.index}", g.name, g.memory_total_mb, g.memory_free_mb, g.utilization_pct,
                  g.temperature_c, g.uuid) for g in nvml.gpus]
        table = [COLUMNS, *[tuple(_cell(value) for value in row) for row in rows]]
        widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
        for number, row in enumerate(table):
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
            if number == 0:
                self.stdout.write("  ".join("-" * width for width in widths))
        if nvml.nvml_available:
            self.stdout.write(f"\nNVML: available, driver {nvml.driver_version or '?'}, "
                              f"CUDA {nvml.cuda_driver_version or '?'}, {len(nvml.gpus)} GPU(s)")
        else:
            self.stdout.write("\nNVML: unavailable")
        if nvml.reason:
            self.stdout.write(f"Reason: {nvml.reason}")
