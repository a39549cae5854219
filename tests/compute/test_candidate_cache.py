"""The candidate cache is exact: every kind of registry or catalog write is seen by the very next advice."""
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Offer as CatalogOffer
from catalog.services import offer_catalog_import, offer_override
from compute.candidate_cache import Entry, IdentityMemo, VersionCache
from compute.selectors import advice_candidates_list
from compute.serializers import advice_render
from compute.services import advice_create
from compute.workload import workload_parse
from health.adapters import CheckResult
from health.models import CheckTrigger, HealthStatus
from health.services import health_check_record
from providers.services import provider_remove, provider_update

HEADER = "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Region,SpotPrice,Price,AvailabilityZone"
CHEAPEST_24GB = {"requirements": {"type": "cg_batch", "min_vram_gb": 24, "estimated_minutes": 60},
                 "budget": {"mode": "cost_saver"}}


def csv_file(price: str) -> list[str]:
    return [HEADER + "\n", f"1x_A5000,RTXA5000,1.0,8.0,32.0,RTXA5000,CA,,{price},CA-MTL-1\n"]


def chosen(raw: dict = CHEAPEST_24GB):
    candidate = advice_create(workload=workload_parse(raw), dry_run=True).advice.remote_candidate.candidate
    return candidate.provider.id, candidate.offer.hourly_usd, candidate.offer.price_stale


def offers_of(provider_id: str) -> dict:
    return {c.offer.offer_id: c for c in advice_candidates_list() if c.provider.id == provider_id}


@pytest.fixture
def runpod_and_vast(registry):
    return registry("runpod", "vast")


@pytest.mark.django_db
def test_a_provider_edit_is_seen_by_the_next_advice(runpod_and_vast):
    assert chosen()[0] == "vast"
    provider_update(provider_id="runpod", changes={"meta": {"cost": {"hourly_usd": 0.01}}})
    assert chosen()[:2] == ("runpod", Decimal("0.01"))


@pytest.mark.django_db
def test_a_deactivation_and_a_delete_are_seen_by_the_next_advice(runpod_and_vast):
    assert chosen()[0] == "vast"
    provider_update(provider_id="vast", changes={"active": False})
    assert chosen()[0] == "runpod"
    provider_remove(provider_id="runpod")
    assert [c.provider.id for c in advice_candidates_list()] == ["vast"]


@pytest.mark.django_db
def test_a_health_result_is_seen_by_the_next_advice(runpod_and_vast):
    assert offers_of("vast")["vast:meta"].provider.health == "unverified"
    health_check_record(provider_id="vast", result=CheckResult(HealthStatus.OK), trigger=CheckTrigger.MANUAL)
    assert offers_of("vast")["vast:meta"].provider.health == "healthy"
    health_check_record(provider_id="vast", result=CheckResult(HealthStatus.TIMEOUT), trigger=CheckTrigger.MANUAL)
    assert offers_of("vast")["vast:meta"].provider.health == "unhealthy"


@pytest.mark.django_db
def test_a_catalog_import_and_a_hand_edit_are_seen_by_the_next_advice(runpod_and_vast):
    runpod = runpod_and_vast[0]
    fetched_at = timezone.now()
    offer_catalog_import(provider=runpod, file=csv_file("0.05"), fetched_at=fetched_at)
    assert chosen()[:2] == ("runpod", Decimal("0.05"))
    # The same fetched_at with another price: the second import must still be seen.
    offer_catalog_import(provider=runpod, file=csv_file("0.07"), fetched_at=fetched_at)
    assert chosen()[:2] == ("runpod", Decimal("0.07"))
    offer_override(offer=CatalogOffer.objects.get(provider=runpod), hourly_usd=Decimal("0.03"))
    assert chosen()[:2] == ("runpod", Decimal("0.03"))
    CatalogOffer.objects.filter(provider=runpod).delete()
    assert chosen()[0] == "vast"


@pytest.mark.django_db
def test_a_price_turns_stale_while_cached(runpod_and_vast, settings, monkeypatch):
    settings.COMFYVN_PRICE_STALE_HOURS = 1
    fetched_at = timezone.now() - timedelta(minutes=59)
    offer_catalog_import(provider=runpod_and_vast[0], file=csv_file("0.05"), fetched_at=fetched_at)
    assert chosen() == ("runpod", Decimal("0.05"), False)
    monkeypatch.setattr("compute.selectors.timezone.now", lambda: fetched_at + timedelta(hours=1, seconds=1))
    assert chosen() == ("runpod", Decimal("0.05"), True)
    monkeypatch.setattr("compute.selectors.timezone.now", lambda: fetched_at + timedelta(minutes=30))
    assert chosen() == ("runpod", Decimal("0.05"), False)


@pytest.mark.django_db
def test_each_need_gets_its_own_offers(runpod_and_vast):
    offer_catalog_import(provider=runpod_and_vast[0], file=csv_file("0.05"), fetched_at=timezone.now())
    assert chosen()[0] == "runpod"
    assert chosen({**CHEAPEST_24GB, "requirements": {"type": "cg_batch", "min_vram_gb": 48}})[0] == "vast"
    assert chosen()[0] == "runpod"


def test_the_cache_keeps_the_newest_entries_under_one_version():
    cache, now = VersionCache(maxsize=2), timezone.now()
    for key in "abc":
        cache.put("f1", key, Entry(key))
    assert [cache.get("f1", key, now) for key in "abc"] == [None, "b", "c"]
    assert cache.get("f2", "c", now) is None
    cache.put("f2", "d", Entry("d"))
    assert cache.get("f1", "c", now) is None and cache.get("f2", "d", now) == "d"


def test_an_entry_serves_only_inside_its_clock_window():
    now = timezone.now()
    entry = Entry("x", valid_after=now - timedelta(hours=1), valid_until=now)
    assert entry.fits(now) and not entry.fits(now + timedelta(microseconds=1))
    assert not entry.fits(now - timedelta(hours=1))


def test_the_cache_is_safe_across_threads():
    cache, now = VersionCache(maxsize=8), timezone.now()

    def churn(worker: int) -> bool:
        for i in range(2000):
            cache.put(f"f{i % 3}", (worker, i % 10), Entry(i))
            value = cache.get(f"f{i % 3}", (worker, i % 10), now)
            if value is not None and value % 10 != i % 10:
                return False
        return True

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(churn, range(4)))


def test_identity_memo_keeps_what_is_asked_twice_for_the_very_same_sources_and_stays_bounded():
    memo = IdentityMemo(maxsize=2, seen_size=3)
    sources = ([1, 2],)
    memo.put(sources, "question", "answer")
    assert memo.get(sources, "question") is None  # asked once: not kept
    memo.put(sources, "question", "answer")
    assert memo.get(sources, "question") == "answer"
    assert memo.get(([1, 2],), "question") is None  # equal, but not the same object
    assert memo.get(sources, "another question") is None
    for key in ("q2", "q3", "q2", "q3"):
        memo.put(sources, key, key)
    assert memo.get(sources, "question") is None  # least recently used, evicted
    assert (memo.get(sources, "q2"), memo.get(sources, "q3")) == ("q2", "q3")
    for key in ("a", "b", "c", "d", "a"):  # the doorkeeper is bounded too: "a" was forgotten
        memo.put(sources, key, key)
    assert memo.get(sources, "a") is None


@pytest.mark.django_db
def test_a_repeated_question_reuses_the_advice_and_its_rendering_until_the_registry_changes(runpod_and_vast):
    advice_create(workload=workload_parse(CHEAPEST_24GB), dry_run=True)  # asked once: remembered, not kept
    first = advice_create(workload=workload_parse(CHEAPEST_24GB), dry_run=True)
    # Another workload with the same analysis (only an asset's name differs) is the same question.
    with_asset = dict(CHEAPEST_24GB, assets=[{"name": "a.png", "size_mb": 10}])
    renamed = dict(CHEAPEST_24GB, assets=[{"name": "b.png", "size_mb": 10}])
    advice_create(workload=workload_parse(with_asset), dry_run=True)
    assert advice_create(workload=workload_parse(with_asset), dry_run=True).advice is \
        advice_create(workload=workload_parse(renamed), dry_run=True).advice
    again = advice_create(workload=workload_parse(CHEAPEST_24GB), dry_run=True)
    assert again.advice is first.advice
    advice_render(first)  # rendered once: remembered, not kept
    assert advice_render(again)["rejected"] is advice_render(first)["rejected"]
    assert advice_create(workload=workload_parse(CHEAPEST_24GB), prefer_remote=True,
                         dry_run=True).advice is not first.advice

    provider_update(provider_id="runpod", changes={"meta": {"cost": {"hourly_usd": 0.01}}})
    advice_create(workload=workload_parse(CHEAPEST_24GB), dry_run=True)
    changed = advice_create(workload=workload_parse(CHEAPEST_24GB), dry_run=True)
    assert changed.advice is not first.advice
    assert changed.advice.remote_candidate.candidate.provider.id == "runpod"
    assert advice_render(changed)["remote_candidate"]["id"] == "runpod"
