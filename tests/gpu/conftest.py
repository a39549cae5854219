"""GPU test fixtures: a fake NVML module injected where `import pynvml` resolves, and a fresh process probe."""
import sys
import threading
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

import pynvml
import pytest

from gpu import discovery
from gpu.discovery import CachedSystemProbe, HostInfo, NvmlProbe

MIB = 1024 * 1024


@dataclass
class FakeGpu:
    uuid: str
    name: str | bytes
    total_mb: int = 24576
    free_mb: int = 20000
    utilization: int = 7
    temperature: int = 41
    fail: dict[str, int] = field(default_factory=dict)  # NVML function name → NVML error code it raises


class FakeNvml(SimpleNamespace):
    """The slice of the pynvml API the probe uses, over fake GPUs; errors are the real pynvml exception classes."""

    def __init__(self, gpus=(), *, init_error: int | None = None, driver="550.54.15", cuda=12040):
        super().__init__(**{name: getattr(pynvml, name) for name in dir(pynvml)
                            if name.startswith("NVML_ERROR_") or name == "NVML_TEMPERATURE_GPU"})
        self.NVMLError = pynvml.NVMLError
        self.gpus, self.init_error, self.driver, self.cuda = list(gpus), init_error, driver, cuda
        self.init_calls = self.shutdown_calls = self.count_calls = 0
        self.init_seconds = 0.0  # the real nvmlInit takes a while: widens any race on first use
        self._lock = threading.Lock()

    def _raise_for(self, gpu: FakeGpu, function: str):
        if function in gpu.fail:
            raise pynvml.NVMLError(gpu.fail[function])

    def nvmlInit(self):
        with self._lock:
            self.init_calls += 1
        time.sleep(self.init_seconds)
        if self.init_error is not None:
            raise pynvml.NVMLError(self.init_error)

    def nvmlShutdown(self):
        self.shutdown_calls += 1

    def nvmlSystemGetDriverVersion(self):
        return self.driver

    def nvmlSystemGetCudaDriverVersion(self):
        return self.cuda

    def nvmlDeviceGetCount(self):
        with self._lock:
            self.count_calls += 1
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index):
        gpu = self.gpus[index]
        self._raise_for(gpu, "nvmlDeviceGetHandleByIndex")
        return gpu

    def nvmlDeviceGetUUID(self, gpu):
        self._raise_for(gpu, "nvmlDeviceGetUUID")
        return gpu.uuid

    def nvmlDeviceGetName(self, gpu):
        self._raise_for(gpu, "nvmlDeviceGetName")
        return gpu.name

    def nvmlDeviceGetMemoryInfo(self, gpu):
        self._raise_for(gpu, "nvmlDeviceGetMemoryInfo")
        used = gpu.total_mb - gpu.free_mb
        return SimpleNamespace(total=gpu.total_mb * MIB, free=gpu.free_mb * MIB, used=used * MIB)

    def nvmlDeviceGetUtilizationRates(self, gpu):
        self._raise_for(gpu, "nvmlDeviceGetUtilizationRates")
        return SimpleNamespace(gpu=gpu.utilization, memory=3)

    def nvmlDeviceGetTemperature(self, gpu, sensor):
        assert sensor == pynvml.NVML_TEMPERATURE_GPU
        self._raise_for(gpu, "nvmlDeviceGetTemperature")
        return gpu.temperature


class FakeHostProbe:
    def __init__(self, cpu_count=8, cpu_percent=12.5, memory_total_mb=64000, memory_available_mb=48000):
        self.info = HostInfo(cpu_count=cpu_count, cpu_percent=cpu_percent, memory_total_mb=memory_total_mb,
                             memory_available_mb=memory_available_mb)

    def probe(self) -> HostInfo:
        return self.info


def run_concurrently(call, threads: int) -> list:
    """Start `threads` threads that call `call()` at the same instant (a barrier); return every result."""
    start, results = threading.Barrier(threads), []

    def worker():
        start.wait()
        results.append(call())

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return results


def fake_system_probe(nvml: FakeNvml, **host) -> CachedSystemProbe:
    """A probe that reads the fake NVML on every call (TTL 0), for services that take `probe=`."""
    return CachedSystemProbe(gpu_probe=NvmlProbe(load_nvml=lambda: nvml), host_probe=FakeHostProbe(**host),
                             ttl_seconds=0)


H100 = FakeGpu(uuid="GPU-11111111-aaaa", name="NVIDIA H100 80GB HBM3", total_mb=81559, free_mb=80000)
L4 = FakeGpu(uuid="GPU-22222222-bbbb", name=b"NVIDIA L4", total_mb=23034, free_mb=22000)


@pytest.fixture(autouse=True)
def fresh_system_probe(monkeypatch):
    """Each test gets its own process-wide probe, so no cached snapshot leaks between tests."""
    monkeypatch.setattr(discovery, "_system_probe", None)


@pytest.fixture
def installed_nvml(monkeypatch):
    """Install a fake NVML as the `pynvml` module that the real code imports lazily."""

    def install(nvml: FakeNvml | None) -> FakeNvml | None:
        monkeypatch.setitem(sys.modules, "pynvml", nvml)  # None makes `import pynvml` raise ImportError
        return nvml

    return install
