"""The registry version (compute/migrations/0003_registry_version.py) moves on every provider or offer write, by any
writer, and only when the write is visible: what the advisor's candidate cache is keyed by."""
import pytest
from django.db import connection, transaction
from django.utils import timezone

from catalog.models import Offer
from compute.selectors import advice_candidates_list, registry_version
from providers.models import Provider

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


def committed_version(other) -> int:
    return other.execute("SELECT n FROM compute_registry_version").fetchone()[0]


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
