"""Management commands: gpu_probe (read-only table), gpu_report (into the DB), gpu_report_schedule."""
from io import StringIO

import psutil
import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from gpu.models import GpuHost
from tests.gpu.conftest import H100, L4, FakeNvml


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_gpu_probe_prints_a_table_of_the_cpu_and_every_gpu(installed_nvml):
    installed_nvml(FakeNvml([H100, L4]))
    lines = run("gpu_probe").splitlines()
    assert lines[0].split() == ["id", "name", "memory", "total", "MiB", "memory", "free", "MiB", "util", "%",
                                "temp", "°C", "uuid"]
    assert set(lines[1]) <= {"-", " "}
    assert lines[2].startswith("cpu ") and "logical cores" in lines[2]
    assert lines[3].split() == ["cuda:0", "NVIDIA", "H100", "80GB", "HBM3", "81559", "80000", "7", "41",
                                "GPU-11111111-aaaa"]
    assert lines[4].split()[:3] == ["cuda:1", "NVIDIA", "L4"]
    assert "NVML: available, driver 550.54.15, CUDA 12.4, 2 GPU(s)" in lines


def test_gpu_probe_without_a_driver_says_why(installed_nvml):
    installed_nvml(FakeNvml([], init_error=9))
    out = run("gpu_probe")
    assert "NVML: unavailable\nReason: the NVIDIA driver is installed but not loaded\n" in out
    assert "cuda:" not in out


@pytest.mark.django_db
def test_gpu_report_records_this_host_and_can_run_twice(installed_nvml):
    installed_nvml(FakeNvml([L4]))
    out = run("gpu_report", "--hostname", "rig-7")
    assert out == f"rig-7: reported {psutil.cpu_count()} CPUs, 1 GPU(s) (driver 550.54.15)\n"
    run("gpu_report", "--hostname", "rig-7")
    host = GpuHost.objects.get()
    assert (host.hostname, list(host.devices.values_list("uuid", flat=True))) == ("rig-7", [L4.uuid])


@pytest.mark.django_db
def test_gpu_report_schedule_upserts_by_name_and_rejects_a_bad_interval():
    assert run("gpu_report_schedule") == ("schedule 'gpu-inventory-report': gpu.tasks.gpu_inventory_sync_task "
                                          "every 30 s (enabled)\n")
    assert "every 60 s" in run("gpu_report_schedule", "--every", "60")
    assert PeriodicTask.objects.filter(name="gpu-inventory-report").count() == 1
    with pytest.raises(CommandError, match="--every must be at least 1 second"):
        run("gpu_report_schedule", "--every", "0")
