"""Inventory services and selectors: idempotent upserts, several hosts in one database, the stale window."""
from dataclasses import replace
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from comfyvn_site.celery import app
from compute.services import advice_create
from compute.types import Choice
from compute.workload import workload_parse
from gpu.models import GpuDevice, GpuHost
from gpu.selectors import gpu_devices_for_advice
from gpu.services import (
    GPU_REPORT_SCHEDULE_NAME,
    gpu_inventory_sync,
    gpu_report_schedule_upsert,
    gpu_self_report_if_due,
)
from gpu.tasks import gpu_inventory_sync_task
from tests.gpu.conftest import H100, L4, FakeNvml, fake_system_probe, run_concurrently

pytestmark = pytest.mark.django_db
T0 = timezone.now().replace(microsecond=0)


def test_sync_records_the_host_and_its_gpus():
    host = gpu_inventory_sync(probe=fake_system_probe(FakeNvml([H100, L4])), hostname="gpu-a", now=T0)
    assert (host.hostname, host.cpu_count, host.cpu_percent, host.memory_total_mb, host.memory_available_mb) == (
        "gpu-a", 8, 12.5, 64000, 48000)
    assert (host.nvml_available, host.nvml_reason, host.driver_version, host.cuda_driver_version) == (
        True, "", "550.54.15", "12.4")
    assert list(GpuDevice.objects.values_list("host__hostname", "index", "uuid", "name", "memory_free_mb")) == [
        ("gpu-a", 0, H100.uuid, "NVIDIA H100 80GB HBM3", 80000), ("gpu-a", 1, L4.uuid, "NVIDIA L4", 22000)]


def test_sync_is_idempotent_and_only_moves_reported_at():
    probe = fake_system_probe(FakeNvml([H100, L4]))
    gpu_inventory_sync(probe=probe, hostname="gpu-a", now=T0)
    before = list(GpuDevice.objects.values_list("pk", "uuid", "index", "memory_free_mb"))
    host = gpu_inventory_sync(probe=probe, hostname="gpu-a", now=T0 + timedelta(seconds=30))
    assert list(GpuDevice.objects.values_list("pk", "uuid", "index", "memory_free_mb")) == before
    assert GpuHost.objects.count() == 1
    assert host.reported_at == T0 + timedelta(seconds=30)
    assert set(GpuDevice.objects.values_list("reported_at", flat=True)) == {T0 + timedelta(seconds=30)}


def test_a_gpu_the_host_stops_reporting_is_removed_and_the_reason_kept():
    gpu_inventory_sync(probe=fake_system_probe(FakeNvml([H100, L4])), hostname="gpu-a", now=T0)
    lost = replace(H100, fail={"nvmlDeviceGetUUID": 15})
    host = gpu_inventory_sync(probe=fake_system_probe(FakeNvml([lost, L4])), hostname="gpu-a", now=T0)
    assert list(GpuDevice.objects.values_list("uuid", "index")) == [(L4.uuid, 1)]
    assert host.nvml_reason == "GPU 0 skipped: GPU is lost"


def test_gpus_that_swap_indices_or_move_host_are_updated_without_constraint_clashes():
    gpu_inventory_sync(probe=fake_system_probe(FakeNvml([H100, L4])), hostname="gpu-a", now=T0)
    gpu_inventory_sync(probe=fake_system_probe(FakeNvml([L4, H100])), hostname="gpu-a", now=T0)
    assert list(GpuDevice.objects.values_list("host__hostname", "index", "uuid")) == [
        ("gpu-a", 0, L4.uuid), ("gpu-a", 1, H100.uuid)]
    gpu_inventory_sync(probe=fake_system_probe(FakeNvml([H100])), hostname="gpu-b", now=T0)
    assert list(GpuDevice.objects.values_list("host__hostname", "index", "uuid")) == [
        ("gpu-a", 0, L4.uuid), ("gpu-b", 0, H100.uuid)]


def test_host_without_nvml_reports_its_cpu_and_why_no_gpu():
    host = gpu_inventory_sync(probe=fake_system_probe(FakeNvml([], init_error=12)), hostname="cpu-box", now=T0)
    assert (host.nvml_available, host.driver_version, host.devices.count()) == (False, "", 0)
    assert host.nvml_reason == "no NVIDIA driver on this host (the NVML library libnvidia-ml was not found)"


def test_advisor_sees_the_gpus_of_two_hosts_reporting_into_one_database(django_assert_num_queries):
    gpu_inventory_sync(probe=fake_system_probe(FakeNvml([H100])), hostname="gpu-a", now=T0)
    gpu_inventory_sync(probe=fake_system_probe(FakeNvml([L4, replace(H100, uuid="GPU-3")])), hostname="gpu-b",
                       now=T0)
    with django_assert_num_queries(1):
        devices = gpu_devices_for_advice(now=T0 + timedelta(seconds=1))
    assert [(d.host, d.index, d.uuid, d.memory_total_mb, d.memory_free_mb) for d in devices] == [
        ("gpu-a", 0, H100.uuid, 81559, 80000), ("gpu-b", 0, L4.uuid, 23034, 22000),
        ("gpu-b", 1, "GPU-3", 81559, 80000)]
    assert devices[0].utilization_pct == 7.0 and devices[0].reported_at == T0


def test_a_host_that_stops_reporting_drops_out_of_advice_after_the_window(settings):
    settings.GPU_STALE_AFTER_SECONDS = 120
    gpu_inventory_sync(probe=fake_system_probe(FakeNvml([H100])), hostname="gpu-a", now=T0)
    for minute in (1, 2, 3):  # gpu-b keeps reporting every minute; gpu-a went quiet at T0
        gpu_inventory_sync(probe=fake_system_probe(FakeNvml([L4])), hostname="gpu-b",
                           now=T0 + timedelta(minutes=minute))
    hosts_at = lambda seconds: [d.host for d in gpu_devices_for_advice(now=T0 + timedelta(seconds=seconds))]  # noqa: E731
    assert hosts_at(120) == ["gpu-a", "gpu-b"]
    assert hosts_at(121) == ["gpu-b"]
    gpu_inventory_sync(probe=fake_system_probe(FakeNvml([H100])), hostname="gpu-a", now=T0 + timedelta(seconds=180))
    assert hosts_at(181) == ["gpu-a", "gpu-b"]


def test_self_report_writes_only_when_this_hosts_row_is_missing_or_older_than_the_ttl(
        settings, installed_nvml, django_assert_num_queries):
    settings.GPU_PROBE_TTL_SECONDS = 5
    installed_nvml(FakeNvml([H100]))
    assert gpu_self_report_if_due(now=T0).hostname == settings.GPU_HOSTNAME
    with django_assert_num_queries(1):
        assert gpu_self_report_if_due(now=T0 + timedelta(seconds=4)) is None
    assert gpu_self_report_if_due(now=T0 + timedelta(seconds=5)).reported_at == T0 + timedelta(seconds=5)
    assert [d.uuid for d in gpu_devices_for_advice(now=T0 + timedelta(seconds=5))] == [H100.uuid]


def test_self_report_gives_way_when_the_database_is_locked(settings, installed_nvml, monkeypatch, caplog):
    installed_nvml(FakeNvml([H100]))

    def locked(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr("gpu.services.gpu_inventory_sync", locked)
    assert gpu_self_report_if_due(now=T0) is None
    assert "GPU self-report skipped: database is locked" in caplog.text


def test_self_report_can_be_turned_off_for_web_hosts(settings, django_assert_num_queries):
    settings.GPU_SELF_REPORT = False
    with django_assert_num_queries(0):
        assert gpu_self_report_if_due() is None
    assert not GpuHost.objects.exists()


def test_task_reports_the_workers_host(settings, installed_nvml):
    installed_nvml(FakeNvml([L4]))
    gpu_inventory_sync_task.delay()
    host = GpuHost.objects.get()
    assert host.hostname == settings.GPU_HOSTNAME
    assert list(host.devices.values_list("uuid", flat=True)) == [L4.uuid]


def test_task_is_routed_to_a_fanout_exchange_so_every_hosts_worker_reports():
    route = app.amqp.router.route({}, "gpu.tasks.gpu_inventory_sync_task")
    assert route["queue"].exchange.name == "gpu_inventory"
    assert route["queue"].exchange.type == "fanout"
    other = app.amqp.router.route({}, "health.tasks.anything")
    assert other["queue"].name == "celery"


def test_schedule_is_upserted_by_name_and_keeps_an_interval_edited_in_the_admin(settings):
    settings.GPU_REPORT_INTERVAL_SECONDS = 30
    PeriodicTask.objects.create(name="someone-elses", task="x.y", interval=IntervalSchedule.objects.create(
        every=1, period=IntervalSchedule.HOURS))
    task = gpu_report_schedule_upsert()
    assert (task.name, task.task, task.interval.every, task.interval.period, task.expire_seconds, task.enabled) == (
        GPU_REPORT_SCHEDULE_NAME, "gpu.tasks.gpu_inventory_sync_task", 30, "seconds", 30, True)
    task.interval = IntervalSchedule.objects.create(every=90, period=IntervalSchedule.SECONDS)
    task.save()
    assert gpu_report_schedule_upsert().interval.every == 90
    assert gpu_report_schedule_upsert(every_seconds=45).interval.every == 45
    task.refresh_from_db()
    task.interval, task.crontab = None, CrontabSchedule.objects.create(minute="*/5")  # an admin switched to cron
    task.save()
    assert gpu_report_schedule_upsert().crontab.minute == "*/5"
    replaced = gpu_report_schedule_upsert(every_seconds=20)
    assert (replaced.crontab, replaced.interval.every, replaced.expire_seconds) == (None, 20, 20)
    assert sorted(PeriodicTask.objects.values_list("name", flat=True)) == [GPU_REPORT_SCHEDULE_NAME, "someone-elses"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_reports_of_one_host_neither_fail_nor_duplicate():
    if connection.vendor == "sqlite":
        pytest.skip("row locking (select_for_update) is PostgreSQL's; SQLite serialises whole transactions")
    probe = fake_system_probe(FakeNvml([H100, L4]))

    def report():
        try:
            gpu_inventory_sync(probe=probe, hostname="racing-host")
        except Exception as exc:  # returned so the assertion shows every failure
            return exc
        finally:
            connection.close()
        return None

    errors = [error for error in run_concurrently(report, 8) if error]
    assert errors == []
    assert list(GpuHost.objects.values_list("hostname", flat=True)) == ["racing-host"]
    assert sorted(GpuDevice.objects.values_list("uuid", flat=True)) == sorted([H100.uuid, L4.uuid])


def test_a_report_reaches_the_next_advice_through_the_inventory_version():
    """compute.selectors.advice_inputs keeps the local GPUs until the inventory's version moves: a report (the real
    service, not a patched selector) must reach the very next advice, and so must a GPU it no longer lists."""
    workload = workload_parse({"requirements": {"type": "cg_batch", "min_vram_gb": 24}})
    assert advice_create(workload=workload, dry_run=True).advice.local_candidate is None
    gpu_inventory_sync(probe=fake_system_probe(FakeNvml([H100])), hostname="gpu-a", now=timezone.now())
    result = advice_create(workload=workload, dry_run=True)
    assert result.advice.choice == Choice.GPU
    assert (result.advice.local_candidate.host, result.advice.local_candidate.uuid) == ("gpu-a", H100.uuid)
    gpu_inventory_sync(probe=fake_system_probe(FakeNvml([])), hostname="gpu-a", now=timezone.now())
    assert advice_create(workload=workload, dry_run=True).advice.local_candidate is None
