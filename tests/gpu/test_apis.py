"""GET /api/gpu/list: this host's CPU and NVML state, every host's GPUs, every remote provider."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from gpu.discovery import NvmlProbe
from gpu.services import gpu_inventory_sync
from providers.models import ProviderKind
from tests.factories import ProviderFactory
from tests.gpu.conftest import H100, L4, FakeGpu, FakeNvml, fake_system_probe

URL = reverse("gpu:list")
NO_DRIVER = "no NVIDIA driver on this host (the NVML library libnvidia-ml was not found)"


def get_list(client):
    response = client.get(URL)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.django_db
def test_list_requires_authentication(anon_client):
    response = anon_client.get(URL)
    assert response.status_code in (401, 403), response.content
    assert response.json()["code"] == "not_authenticated"


def test_without_a_driver_lists_this_hosts_cpu_and_says_why_there_is_no_gpu(user_client, settings, installed_nvml):
    installed_nvml(FakeNvml([H100], init_error=12))
    body = get_list(user_client)
    assert set(body) == {"devices", "remote", "system", "nvml"}
    assert body["nvml"] == {"available": False, "reason": NO_DRIVER, "driver_version": None,
                            "cuda_driver_version": None}
    (cpu,) = body["devices"]
    assert cpu["id"] == "cpu" and cpu["kind"] == "cpu" and cpu["host"] == settings.GPU_HOSTNAME
    assert cpu["available"] is True and cpu["stale"] is False
    assert cpu["memory_total_mb"] > 0 and cpu["memory_free_mb"] <= cpu["memory_total_mb"]
    assert body["system"]["hostname"] == settings.GPU_HOSTNAME
    assert body["system"]["cpu_count"] >= 1 and body["system"]["gpu_count"] == 0


@pytest.mark.skipif(NvmlProbe().probe().nvml_available, reason="this machine has a working NVIDIA driver")
def test_on_a_machine_without_gpu_the_real_probe_answers_200_with_a_readable_reason(user_client):
    body = get_list(user_client)
    assert body["nvml"]["available"] is False
    assert body["nvml"]["reason"] in (NO_DRIVER, "the NVIDIA driver is installed but not loaded")
    assert [d["id"] for d in body["devices"]] == ["cpu"]


def test_remote_providers_are_all_listed_and_unavailable_until_a_health_check_succeeds(user_client, templates,
                                                                                       installed_nvml):
    installed_nvml(FakeNvml([]))
    ProviderFactory(id="runpod-eu", name="RunPod EU", service="runpod", priority=5)
    ProviderFactory(id="vast-off", name="Vast", service="vast", active=False, priority=20)
    ProviderFactory(id="lambda-ok", name="Lambda", service="lambda", priority=30,
                    last_checked_at=timezone.now(), last_health={"ok": True, "status": "ok"})
    ProviderFactory(id="aws-bad", name="AWS", service="aws", priority=40,
                    last_checked_at=timezone.now(), last_health={"ok": False, "status": "auth_failed"})
    body = get_list(user_client)
    assert [(r["id"], r["service"], r["active"], r["available"], r["health_state"]) for r in body["remote"]] == [
        ("remote:runpod-eu", "runpod", True, False, "unverified"),
        ("remote:vast-off", "vast", False, False, "unverified"),
        ("remote:lambda-ok", "lambda", True, True, "healthy"),
        ("remote:aws-bad", "aws", True, False, "unhealthy"),
    ]
    assert body["remote"][0]["name"] == "RunPod EU"
    assert "remote:local" not in {r["id"] for r in body["remote"]}  # the built-in local provider is not remote


def test_gpus_of_every_host_are_listed_and_a_quiet_hosts_flagged_stale(user_client, settings, installed_nvml):
    settings.GPU_STALE_AFTER_SECONDS, settings.GPU_HOSTNAME = 120, "web-1"
    installed_nvml(FakeNvml([]))
    now = timezone.now()
    gpu_inventory_sync(probe=fake_system_probe(FakeNvml([H100, L4])), hostname="gpu-a", now=now)
    gpu_inventory_sync(probe=fake_system_probe(FakeNvml([FakeGpu(uuid="GPU-9", name="Tesla T4")])),
                       hostname="gpu-old", now=now - timedelta(seconds=600))
    devices = get_list(user_client)["devices"]
    rows = [(d["host"], d["id"], d["kind"], d["available"], d["stale"]) for d in devices]
    assert rows == [
        ("gpu-a", "cpu", "cpu", True, False), ("gpu-a", "cuda:0", "gpu", True, False),
        ("gpu-a", "cuda:1", "gpu", True, False),
        ("gpu-old", "cpu", "cpu", False, True), ("gpu-old", "cuda:0", "gpu", False, True),
        ("web-1", "cpu", "cpu", True, False),
    ]
    h100 = next(d for d in devices if d["uuid"] == H100.uuid)
    assert (h100["name"], h100["memory_total_mb"], h100["memory_free_mb"], h100["utilization_pct"],
            h100["temperature_c"]) == ("NVIDIA H100 80GB HBM3", 81559, 80000, 7.0, 41.0)


def test_list_runs_a_bounded_number_of_queries(user_client, installed_nvml, django_assert_num_queries):
    installed_nvml(FakeNvml([H100]))
    now = timezone.now()
    for n in range(5):
        gpu_inventory_sync(probe=fake_system_probe(FakeNvml([FakeGpu(uuid=f"GPU-{n}-{i}", name="A10")
                                                             for i in range(4)])), hostname=f"host-{n}", now=now)
    for n in range(10):
        ProviderFactory(id=f"remote-{n}", kind=ProviderKind.REMOTE)
    get_list(user_client)  # the first call self-reports this host
    with django_assert_num_queries(4):  # self-report freshness check, hosts, their GPUs, remote providers
        body = get_list(user_client)
    assert len(body["devices"]) == 6 + 20 + 1 and len(body["remote"]) == 10
