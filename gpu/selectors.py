"""Selectors: read-only queries over the GPU inventory."""
from gpu.types import GpuDevice


def gpu_devices_for_advice() -> list[GpuDevice]:
    """Fresh, available local GPUs the advisor may place work on.

    Until the GPU inventory lands this returns none, so the advisor sees "no local GPU".
    """
    return []
