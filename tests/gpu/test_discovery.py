"""Discovery: NVML results for 0/1/2 GPUs and every failure mode, once-per-process init, the TTL snapshot."""
from dataclasses import replace

import pynvml
import pytest

from gpu.discovery import CachedSystemProbe, GpuInfo, NvmlProbe, ProbeResult, PsutilHostProbe, system_probe
from tests.gpu.conftest import H100, L4, FakeHostProbe, FakeNvml, run_concurrently


def probe_with(nvml):
    return NvmlProbe(load_nvml=lambda: nvml).probe()


def test_no_gpu_is_a_normal_result_with_a_reason():
    result = probe_with(FakeNvml([]))
    assert result.nvml_available is True
    assert result.gpus == ()
    assert result.reason == "NVML is working but reports no GPU on this host"
    assert (result.driver_version, result.cuda_driver_version) == ("550.54.15", "12.4")


def test_one_gpu_is_read_in_mib_with_its_metrics():
    result = probe_with(FakeNvml([H100], cuda=12080))
    assert result == ProbeResult(
        gpus=(GpuInfo(index=0, uuid="GPU-11111111-aaaa", name="NVIDIA H100 80GB HBM3", memory_total_mb=81559,
                      memory_free_mb=80000, memory_used_mb=1559, utilization_pct=7.0, temperature_c=41.0),),
        reason=None, nvml_available=True, driver_version="550.54.15", cuda_driver_version="12.8")


def test_two_gpus_listed_in_index_order_whether_names_come_as_str_or_bytes():
    result = probe_with(FakeNvml([H100, L4], driver=b"535.104.05"))
    assert [(g.index, g.uuid, g.name) for g in result.gpus] == [
        (0, "GPU-11111111-aaaa", "NVIDIA H100 80GB HBM3"), (1, "GPU-22222222-bbbb", "NVIDIA L4")]
    assert result.driver_version == "535.104.05"
    assert result.reason is None


def test_library_missing_is_reported_not_raised(installed_nvml):
    installed_nvml(None)
    result = NvmlProbe().probe()
    assert result == ProbeResult(reason="pynvml (nvidia-ml-py) is not installed, so NVIDIA GPUs cannot be discovered")


@pytest.mark.parametrize(("code", "reason"), [
    (pynvml.NVML_ERROR_LIBRARY_NOT_FOUND,
     "no NVIDIA driver on this host (the NVML library libnvidia-ml was not found)"),
    (pynvml.NVML_ERROR_DRIVER_NOT_LOADED, "the NVIDIA driver is installed but not loaded"),
    (pynvml.NVML_ERROR_NO_PERMISSION, "no permission to access the NVIDIA driver"),
    (pynvml.NVML_ERROR_UNKNOWN, "NVML failed to initialise: Unknown Error"),
])
def test_driver_problems_are_normal_results_with_a_readable_reason(code, reason):
    result = probe_with(FakeNvml([H100], init_error=code))
    assert result == ProbeResult(reason=reason, nvml_available=False)


def test_error_on_one_gpu_mid_read_keeps_the_other_listed():
    lost = replace(H100, fail={"nvmlDeviceGetMemoryInfo": pynvml.NVML_ERROR_GPU_IS_LOST})
    result = probe_with(FakeNvml([lost, L4]))
    assert [g.uuid for g in result.gpus] == [L4.uuid]
    assert result.gpus[0].index == 1
    assert result.reason == "GPU 0 skipped: GPU is lost"
    assert result.nvml_available is True


def test_unsupported_utilisation_and_temperature_leave_the_gpu_listed_with_none():
    vgpu = replace(L4, fail={"nvmlDeviceGetUtilizationRates": pynvml.NVML_ERROR_NOT_SUPPORTED,
                             "nvmlDeviceGetTemperature": pynvml.NVML_ERROR_NOT_SUPPORTED})
    (gpu,) = probe_with(FakeNvml([vgpu])).gpus
    assert (gpu.utilization_pct, gpu.temperature_c, gpu.memory_free_mb) == (None, None, 22000)


def test_an_unexpected_binding_fault_is_logged_and_reported_never_raised(caplog):
    nvml = FakeNvml([H100])
    nvml.nvmlDeviceGetCount = lambda: 1 / 0
    result = probe_with(nvml)
    assert result == ProbeResult(reason="NVML probe failed unexpectedly: ZeroDivisionError")
    assert "NVML probe failed unexpectedly" in caplog.text


def test_nvml_is_initialised_once_per_process_even_under_concurrent_first_use():
    nvml = FakeNvml([H100])
    nvml.init_seconds = 0.05
    probe = NvmlProbe(load_nvml=lambda: nvml)
    run_concurrently(probe.probe, 16)
    assert nvml.init_calls == 1
    assert nvml.count_calls == 16


def test_a_forked_process_initialises_its_own_nvml(monkeypatch):
    nvml = FakeNvml([H100])
    probe = NvmlProbe(load_nvml=lambda: nvml)
    probe.probe()
    monkeypatch.setattr("gpu.discovery.os.getpid", lambda: -1)
    probe.probe()
    assert nvml.init_calls == 2


def test_a_failed_initialisation_is_retried_so_a_driver_loaded_later_is_found():
    nvml = FakeNvml([H100], init_error=pynvml.NVML_ERROR_DRIVER_NOT_LOADED)
    probe = NvmlProbe(load_nvml=lambda: nvml)
    assert probe.probe().gpus == ()
    nvml.init_error = None
    assert [g.uuid for g in probe.probe().gpus] == [H100.uuid]


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_snapshot_reads_nvml_once_per_ttl_window_under_many_concurrent_requests():
    nvml, clock = FakeNvml([H100, L4]), Clock()
    cached = CachedSystemProbe(gpu_probe=NvmlProbe(load_nvml=lambda: nvml), host_probe=FakeHostProbe(),
                               ttl_seconds=5, clock=clock)
    seen = run_concurrently(cached.probe, 32)
    assert nvml.count_calls == 1
    clock.now += 4.9
    seen += run_concurrently(cached.probe, 32)
    assert nvml.count_calls == 1
    clock.now += 0.1
    seen += run_concurrently(cached.probe, 32)
    assert nvml.count_calls == 2
    assert len(seen) == 96 and {len(s.gpu.gpus) for s in seen} == {2}


def test_psutil_host_probe_reads_this_machine():
    info = PsutilHostProbe().probe()
    assert info.cpu_count >= 1
    assert 0 <= info.cpu_percent <= 100
    assert 0 < info.memory_available_mb <= info.memory_total_mb


def test_process_probe_is_shared_and_uses_the_ttl_setting(settings):
    settings.GPU_PROBE_TTL_SECONDS = 7.5
    assert system_probe() is system_probe()
    assert system_probe()._ttl == 7.5


def test_real_nvml_probe_never_raises_on_this_machine():
    result = NvmlProbe().probe()
    assert result.nvml_available or result.reason
