"""Hardware check: the real NvmlProbe against a real NVIDIA driver. Skipped where no driver exists.

Run on a GPU machine with `scripts/gpu_device_check.sh` (or `pytest -m gpu`).
"""
import ctypes

import pytest

from gpu.discovery import CachedSystemProbe, NvmlProbe, PsutilHostProbe
from gpu.selectors import gpu_devices_for_advice
from gpu.services import gpu_inventory_sync


def nvidia_driver_present() -> bool:
    try:
        ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return False
    return True


pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not nvidia_driver_present(), reason="no NVIDIA driver (libnvidia-ml.so.1) here")]


def test_real_nvml_probe_reads_every_gpu_of_this_machine():
    import pynvml

    result = NvmlProbe().probe()
    print(f"\nNVML: driver {result.driver_version}, CUDA {result.cuda_driver_version}, reason {result.reason!r}")
    for gpu in result.gpus:
        print(f"  {gpu}")
    assert result.nvml_available, result.reason
    assert result.reason is None
    assert result.driver_version and result.cuda_driver_version.count(".") == 1
    assert len(result.gpus) == pynvml.nvmlDeviceGetCount() >= 1
    for index, gpu in enumerate(result.gpus):
        assert gpu.index == index
        assert gpu.uuid.startswith(("GPU-", "MIG-")) and gpu.name
        assert gpu.memory_total_mb > 1024
        assert 0 <= gpu.memory_free_mb <= gpu.memory_total_mb and 0 <= gpu.memory_used_mb <= gpu.memory_total_mb
        assert gpu.utilization_pct is None or 0 <= gpu.utilization_pct <= 100
        assert gpu.temperature_c is None or 0 < gpu.temperature_c < 120


@pytest.mark.django_db
def test_real_gpus_reach_the_advisor_through_the_inventory():
    probe = CachedSystemProbe(gpu_probe=NvmlProbe(), host_probe=PsutilHostProbe(), ttl_seconds=0)
    host = gpu_inventory_sync(probe=probe, hostname="gpu-device-check")
    seen = {gpu.uuid for gpu in probe.probe().gpu.gpus}
    assert set(host.devices.values_list("uuid", flat=True)) == seen
    assert {d.uuid for d in gpu_devices_for_advice() if d.host == "gpu-device-check"} == seen
