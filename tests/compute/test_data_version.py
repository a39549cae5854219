"""The data versions (compute/migrations/0003_data_version.py) move on every provider, offer or GPU inventory write,
by any writer, and only when the write is visible: what the advisor's candidate and local GPU caches are keyed by."""
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from catalog.models import Offer
from compute.selectors import advice_candidates_list, advice_inputs, data_versions, registry_version
from gpu.models import GpuDevice, GpuHost
from providers.models import Provider
from tests.compute.conftest import inventory_gpu_add

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql",
                                     reason="another connection and deferred triggers: PostgreSQL's")


def offer(provider: Provider, **fields) -> Offer:
    return Offer(provider=provider, instance_type=fields.pop("instance_type", "1x_A5000"), gpu_name="RTXA5000",
                 gpu_count=1, vram_per_gpu_gb=24, vcpus=8, memory_gb=32, region="CA", zone="",
                 hourly_usd=fields.pop("hourly_usd", "0.27"), source="skypilot", fetched_at=timezone.now(), **fields)


def raw(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.django_db
def test_every_kind_of_write_moves_the_version_and_reading_does_not(registry):
    versions = [registry_version()]

    def moved() -> bool:
        versions.append(registry_version())
        return versions[-1] != versions[-2]

    assert not moved()
    [runpod] = registry("runpod")
    assert moved()
    Provider.objects.filter(id="runpod").update(priority=7)  # a queryset update: updated_at is not touched
    assert moved()
    raw("UPDATE providers_provider SET meta = %s WHERE id = %s", ['{"gpu": "H100"}', "runpod"])  # raw SQL
    assert moved()
    Offer.objects.bulk_create([offer(runpod)])
    assert moved()
    Offer.objects.bulk_create([offer(runpod, hourly_usd="0.30")], update_conflicts=True,
                              unique_fields=("provider", "instance_type", "region", "zone"),
                              update_fields=("hourly_usd",))  # the catalog import's upsert
    assert moved()
    Offer.objects.filter(provider=runpod).delete()
    assert moved()
    Provider.objects.filter(id="runpod").delete()
    assert moved()
    assert not moved() and len(set(versions)) == len(versions) - 2


@pytest.mark.django_db
def test_a_raw_sql_edit_is_seen_by_the_next_advice(registry):
    registry("runpod")
    assert advice_candidates_list()[0].provider.priority != 99
    raw("UPDATE providers_provider SET priority = 99 WHERE id = %s", ["runpod"])
    assert advice_candidates_list()[0].provider.priority == 99


@pytest.mark.django_db
def test_a_savepoint_rolled_back_restores_the_version_with_the_rows(registry):
    registry("runpod")
    before = registry_version()
    with pytest.raises(RuntimeError), transaction.atomic():
        Provider.objects.filter(id="runpod").update(priority=42)
        assert registry_version() != before
        raise RuntimeError
    assert registry_version() == before
    assert advice_candidates_list()[0].provider.priority != 42


@pytest.fixture
def other_connection():
    """A second PostgreSQL session on the test database: what another gunicorn worker sees."""
    import psycopg

    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        yield other


def committed_version(other, domain: str = "registry") -> int:
    return other.execute(f"SELECT {domain} FROM compute_data_version").fetchone()[0]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_commit_moves_the_version_once_and_only_when_its_rows_are_visible(registry, other_connection):
    start = committed_version(other_connection)
    with transaction.atomic():
        [runpod] = registry("runpod")
        Offer.objects.bulk_create([offer(runpod, instance_type=f"type-{n}") for n in range(50)])
        assert committed_version(other_connection) == start  # not before the rows can be read
        assert other_connection.execute("SELECT count(*) FROM catalog_offer").fetchone()[0] == 0
    assert committed_version(other_connection) == start + 1  # one bump for 51 rows
    with pytest.raises(RuntimeError), transaction.atomic():
        Provider.objects.filter(id="runpod").update(priority=3)
        raise RuntimeError
    assert committed_version(other_connection) == start + 1  # rolled back: nothing to notice
    Provider.objects.filter(id="runpod").update(priority=4)  # autocommit
    assert committed_version(other_connection) == start + 2


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_another_sessions_commit_is_seen_by_the_next_advice(registry, other_connection):
    registry("runpod")
    assert advice_candidates_list()[0].provider.priority != 77
    other_connection.execute("UPDATE providers_provider SET priority = 77 WHERE id = 'runpod'")
    assert advice_candidates_list()[0].provider.priority == 77


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_truncate_moves_the_version(registry, other_connection):
    registry("runpod")
    start = committed_version(other_connection)
    other_connection.execute("TRUNCATE catalog_offer")
    assert committed_version(other_connection) == start + 1


def gpu_version() -> tuple:
    return data_versions()[1]


@pytest.mark.django_db
def test_inventory_writes_move_the_gpu_version_and_registry_writes_do_not(registry):
    registry_before, gpu_before = data_versions()
    inventory_gpu_add()
    assert registry_version() == registry_before and gpu_version() != gpu_before
    after_add = gpu_version()
    GpuDevice.objects.update(memory_free_mb=100)  # what a report does to a known GPU
    assert gpu_version() != after_add
    after_update = gpu_version()
    registry("runpod")
    assert gpu_version() == after_update and registry_version() != registry_before
    GpuHost.objects.all().delete()
    assert gpu_version() != after_update


@pytest.mark.django_db
def test_local_gpus_are_the_same_objects_until_the_inventory_changes():
    first = advice_inputs()[1]
    assert first == () and advice_inputs()[1] is first
    inventory_gpu_add()
    [gpu] = advice_inputs()[1]
    assert gpu.uuid == "GPU-1" and gpu.free_gb == 20000 / 1024
    assert advice_inputs()[1] is advice_inputs()[1]
    GpuDevice.objects.update(memory_free_mb=1024)
    assert advice_inputs()[1][0].free_gb == 1.0


@pytest.mark.django_db
def test_a_host_that_stops_reporting_leaves_the_advice_when_it_turns_stale(settings, monkeypatch):
    settings.GPU_STALE_AFTER_SECONDS = 60
    inventory_gpu_add(host="a", uuid="GPU-a")
    reported = GpuHost.objects.get(hostname="a").reported_at
    inventory_gpu_add(host="b", uuid="GPU-b")
    GpuHost.objects.filter(hostname="b").update(reported_at=reported + timedelta(seconds=30))

    def uuids_at(seconds: float) -> list[str]:
        monkeypatch.setattr("compute.selectors.timezone.now", lambda: reported + timedelta(seconds=seconds))
        return [gpu.uuid for gpu in advice_inputs()[1]]

    assert uuids_at(0) == ["GPU-a", "GPU-b"]
    assert uuids_at(60) == ["GPU-a", "GPU-b"]  # fresh up to and including the limit, as the listing says
    assert uuids_at(60.001) == ["GPU-b"]
    assert uuids_at(90.001) == []
    assert uuids_at(10) == ["GPU-a", "GPU-b"]  # a clock read earlier (another thread) gets its own answer


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_gpu_report_committed_elsewhere_is_seen_by_the_next_advice(other_connection):
    inventory_gpu_add()
    start = committed_version(other_connection, "gpu")
    assert advice_inputs()[1][0].free_gb == 20000 / 1024
    other_connection.execute("UPDATE gpu_gpudevice SET memory_free_mb = 2048")
    assert committed_version(other_connection, "gpu") == start + 1
    assert advice_inputs()[1][0].free_gb == 2.0


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_writers_of_both_domains_in_opposite_orders_both_commit(registry, other_connection):
    """Both numbers live in one row, so a transaction that wrote the registry first and one that wrote the inventory
    first queue for the same lock at commit instead of taking two locks in opposite orders."""
    import threading

    import psycopg

    registry("runpod", "vast")
    inventory_gpu_add()
    start = (committed_version(other_connection), committed_version(other_connection, "gpu"))
    both_wrote, errors = threading.Barrier(2, timeout=10), []

    def write(statements: list[str]) -> None:
        try:
            with psycopg.connect(**connection.get_connection_params()) as conn, conn.transaction():
                conn.execute("SET LOCAL lock_timeout = '5s'")
                for statement in statements:
                    conn.execute(statement)
                both_wrote.wait()  # both hold their row locks and have queued their bumps before either commits
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    registry_first = ["UPDATE providers_provider SET priority = 1 WHERE id = 'runpod'",
                      "UPDATE gpu_gpuhost SET cpu_percent = 1"]
    gpu_first = ["UPDATE gpu_gpudevice SET utilization_pct = 2",
                 "UPDATE providers_provider SET priority = 2 WHERE id = 'vast'"]
    threads = [threading.Thread(target=write, args=(s,)) for s in (registry_first, gpu_first)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert (committed_version(other_connection), committed_version(other_connection, "gpu")) == (start[0] + 2,
                                                                                               start[1] + 2)
