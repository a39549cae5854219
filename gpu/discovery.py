"""Discovery: the NVML and psutil boundary. Reads what this host has; knows nothing of the database.

Upstream re-probed hardware on every call, ran nvidia-smi without a timeout and crashed on NVML names
returned as `str` (upstream-comfyvn.md §7 item 23). Here NVML is initialised once per process, a snapshot
is cached for GPU_PROBE_TTL_SECONDS, and "no library / no driver / no GPU / a GPU failing mid-read" are
ordinary results carrying a readable `reason`: nothing raises out of `probe()`.
"""
import atexit
import importlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Protocol, TypeVar

import psutil
from django.conf import settings

MIB = 1024 * 1024
T = TypeVar("T")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GpuInfo:
    """One GPU as NVML reports it; memory in MiB; a metric the GPU does not support is None."""

    index: int
    uuid: str
    name: str
    memory_total_mb: int
    memory_free_mb: int
    memory_used_mb: int
    utilization_pct: float | None = None
    temperature_c: float | None = None


@dataclass(frozen=True)
class ProbeResult:
    """What a GPU probe saw: the GPUs it could read, and why the list may be empty or short."""

    gpus: tuple[GpuInfo, ...] = ()
    reason: str | None = None
    nvml_available: bool = False
    driver_version: str = ""
    cuda_driver_version: str = ""


@dataclass(frozen=True)
class HostInfo:
    """CPU and memory of this host; memory in MiB."""

    cpu_count: int
    cpu_percent: float | None
    memory_total_mb: int
    memory_available_mb: int


@dataclass(frozen=True)
class SystemSnapshot:
    """One cached reading of this host: its CPU/memory and its GPUs."""

    host: HostInfo
    gpu: ProbeResult
    taken_at: float = field(compare=False)


class GpuProbe(Protocol):
    def probe(self) -> ProbeResult: ...


class HostProbe(Protocol):
    def probe(self) -> HostInfo: ...


class SystemProbe(Protocol):
    def probe(self) -> SystemSnapshot: ...


def _import_pynvml() -> ModuleType:
    return importlib.import_module("pynvml")


def _text(value: str | bytes) -> str:
    """NVML bindings return `bytes` (older) or `str` (newer); upstream's `.decode()` broke on the latter."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _cuda_version(value: int) -> str:
    """NVML encodes the CUDA driver version as 1000*major + 10*minor (12040 → "12.4")."""
    return f"{value // 1000}.{value % 1000 // 10}"


class NvmlProbe:
    """Reads NVIDIA GPUs through NVML (pynvml), imported lazily so hosts without it still start.

    NVML is initialised at most once per process (a forked worker initialises its own) under a lock, and
    shut down at interpreter exit. A failed initialisation is retried on the next probe, which the
    snapshot cache limits to once per TTL window, so a driver loaded later is picked up.
    """

    def __init__(self, *, load_nvml: Callable[[], ModuleType] = _import_pynvml):
        self._load_nvml = load_nvml
        self._lock = threading.Lock()
        self._nvml: ModuleType | None = None
        self._pid: int | None = None

    def probe(self) -> ProbeResult:
        try:
            return self._probe()
        except Exception as exc:  # a binding bug must not take the API down; it is logged with its traceback
            logger.exception("NVML probe failed unexpectedly")
            return ProbeResult(reason=f"NVML probe failed unexpectedly: {exc.__class__.__name__}")

    def _probe(self) -> ProbeResult:
        nvml, reason = self._initialised()
        if nvml is None:
            return ProbeResult(reason=reason)
        driver = _optional(nvml, lambda: _text(nvml.nvmlSystemGetDriverVersion()))
        cuda = _optional(nvml, lambda: _cuda_version(nvml.nvmlSystemGetCudaDriverVersion()))
        try:
            count = nvml.nvmlDeviceGetCount()
        except nvml.NVMLError as exc:
            return ProbeResult(reason=f"NVML could not count GPUs: {exc}", nvml_available=True,
                               driver_version=driver or "", cuda_driver_version=cuda or "")
        gpus, failures = [], []
        for index in range(count):
            try:
                gpus.append(self._read_gpu(nvml, index))
            except nvml.NVMLError as exc:
                failures.append(f"GPU {index} skipped: {exc}")
        if count == 0:
            failures.append("NVML is working but reports no GPU on this host")
        return ProbeResult(gpus=tuple(gpus), reason="; ".join(failures) or None, nvml_available=True,
                           driver_version=driver or "", cuda_driver_version=cuda or "")

    def _initialised(self) -> tuple[ModuleType | None, str | None]:
        with self._lock:
            if self._nvml is not None and self._pid == os.getpid():
                return self._nvml, None
            try:
                nvml = self._load_nvml()
            except ImportError:
                return None, "pynvml (nvidia-ml-py) is not installed, so NVIDIA GPUs cannot be discovered"
            try:
                nvml.nvmlInit()
            except nvml.NVMLError as exc:
                return None, self._init_failure(nvml, exc)
            self._nvml, self._pid = nvml, os.getpid()
            atexit.register(self._shutdown, nvml)
            return nvml, None

    @staticmethod
    def _init_failure(nvml: ModuleType, exc: Exception) -> str:
        code = getattr(exc, "value", None)
        if code == nvml.NVML_ERROR_LIBRARY_NOT_FOUND:
            return "no NVIDIA driver on this host (the NVML library libnvidia-ml was not found)"
        if code == nvml.NVML_ERROR_DRIVER_NOT_LOADED:
            return "the NVIDIA driver is installed but not loaded"
        if code == nvml.NVML_ERROR_NO_PERMISSION:
            return "no permission to access the NVIDIA driver"
        return f"NVML failed to initialise: {exc}"

    @staticmethod
    def _read_gpu(nvml: ModuleType, index: int) -> GpuInfo:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        memory = nvml.nvmlDeviceGetMemoryInfo(handle)
        return GpuInfo(
            index=index,
            uuid=_text(nvml.nvmlDeviceGetUUID(handle)),
            name=_text(nvml.nvmlDeviceGetName(handle)),
            memory_total_mb=memory.total // MIB,
            memory_free_mb=memory.free // MIB,
            memory_used_mb=memory.used // MIB,
            utilization_pct=_optional(nvml, lambda: float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)),
            temperature_c=_optional(nvml, lambda: float(nvml.nvmlDeviceGetTemperature(
                handle, nvml.NVML_TEMPERATURE_GPU))),
        )

    def _shutdown(self, nvml: ModuleType) -> None:
        try:
            nvml.nvmlShutdown()
        except nvml.NVMLError:
            pass  # at exit there is nothing left to report it to


def _optional(nvml: ModuleType, read: Callable[[], T]) -> T | None:
    """Versions, utilisation and temperature are informational: many GPUs (vGPU, MIG) do not report them all."""
    try:
        return read()
    except nvml.NVMLError:
        return None


class PsutilHostProbe:
    """CPU count, CPU %, memory total/available through psutil.

    By default it never blocks: CPU % covers the time since the previous reading. A one-off command passes
    `cpu_sample_seconds` to measure over a short interval instead.
    """

    def __init__(self, *, cpu_sample_seconds: float | None = None):
        self._cpu_sample_seconds = cpu_sample_seconds
        psutil.cpu_percent(interval=None)  # prime: the first non-blocking reading is otherwise a meaningless 0.0

    def probe(self) -> HostInfo:
        memory = psutil.virtual_memory()
        return HostInfo(cpu_count=psutil.cpu_count(logical=True) or 1,
                        cpu_percent=psutil.cpu_percent(interval=self._cpu_sample_seconds),
                        memory_total_mb=memory.total // MIB, memory_available_mb=memory.available // MIB)


class CachedSystemProbe:
    """This host's GPUs and CPU, read at most once per `ttl_seconds` however many threads ask at once."""

    def __init__(self, *, gpu_probe: GpuProbe, host_probe: HostProbe, ttl_seconds: float,
                 clock: Callable[[], float] = time.monotonic):
        self._gpu_probe, self._host_probe = gpu_probe, host_probe
        self._ttl, self._clock = ttl_seconds, clock
        self._lock = threading.Lock()
        self._snapshot: SystemSnapshot | None = None

    def probe(self) -> SystemSnapshot:
        with self._lock:
            now = self._clock()
            if self._snapshot is None or now - self._snapshot.taken_at >= self._ttl:
                self._snapshot = SystemSnapshot(host=self._host_probe.probe(), gpu=self._gpu_probe.probe(),
                                                taken_at=now)
            return self._snapshot


_system_probe: CachedSystemProbe | None = None
_system_probe_lock = threading.Lock()


def system_probe() -> CachedSystemProbe:
    """The process-wide probe, so NVML is initialised once and every caller shares one cached snapshot."""
    global _system_probe
    with _system_probe_lock:
        if _system_probe is None:
            _system_probe = CachedSystemProbe(gpu_probe=NvmlProbe(), host_probe=PsutilHostProbe(),
                                              ttl_seconds=settings.GPU_PROBE_TTL_SECONDS)
        return _system_probe
