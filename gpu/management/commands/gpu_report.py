"""Report this host's CPU and GPUs into the inventory database (what the periodic task does, once, now)."""
from django.core.management.base import BaseCommand

from gpu.services import gpu_inventory_sync


class Command(BaseCommand):
    help = "Record this host's CPU, memory and NVIDIA GPUs in the GPU inventory (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--hostname", help="Report under this name instead of GPU_HOSTNAME / the OS hostname.")

    def handle(self, *args, **options):
        host = gpu_inventory_sync(hostname=options["hostname"])
        gpus = host.devices.count()
        detail = f"NVML: {host.nvml_reason}" if host.nvml_reason else f"driver {host.driver_version}"
        self.stdout.write(f"{host.hostname}: reported {host.cpu_count} CPUs, {gpus} GPU(s) ({detail})")
