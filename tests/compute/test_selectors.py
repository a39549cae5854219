"""Selectors: candidates load in a fixed number of queries and tolerate malformed provider meta."""
from decimal import Decimal

import pytest

from compute.selectors import advice_candidates_list, candidate_from_meta
from compute.types import Health
from providers.models import Provider
from tests.compute.conftest import providers_create


@pytest.mark.django_db
@pytest.mark.parametrize("count", [10, 500])
def test_candidate_query_count_does_not_grow_with_the_registry(count, django_assert_num_queries):
    providers_create(count)
    with django_assert_num_queries(2):  # the registry version, the providers; none has offers: no offer query
        candidates = advice_candidates_list()
    assert len(candidates) == count
    assert [c.provider.id for c in candidates[:2]] == sorted(
        Provider.objects.filter(priority=0).values_list("id", flat=True))[:2]


@pytest.mark.django_db
def test_candidates_skip_local_providers_and_keep_inactive_ones(templates, registry):
    registry("runpod", active=False)
    registry("vast")
    assert [(c.provider.id, c.provider.active) for c in advice_candidates_list()] == [("runpod", False),
                                                                                       ("vast", True)]


@pytest.mark.parametrize(("meta", "hourly", "increment", "vram"), [
    ({}, None, Decimal(0), None),
    ("not a dict", None, Decimal(0), None),
    ({"cost": {"hourly_usd": "0.5"}, "max_vram_gb": "24"}, None, Decimal(0), None),
    ({"cost": {"hourly_usd": -1, "billing_increment_minutes": True}}, None, Decimal(0), None),
    ({"cost": {"hourly_usd": 0.46, "billing_increment_minutes": 1}, "min_vram_gb": 12}, Decimal("0.46"), Decimal(1),
     12),
    ({"cost": {"hourly_usd": 0}, "min_vram_gb": 8, "max_vram_gb": None}, Decimal(0), Decimal(0), 8),
    ({"cost": {"hourly_usd": float("inf")}}, None, Decimal(0), None),
])
def test_candidate_from_meta_treats_malformed_values_as_unknown(meta, hourly, increment, vram):
    candidate = candidate_from_meta(provider_id="p", name="P", service="s", base_url="", priority=1, active=True,
                                    health=Health.UNVERIFIED, meta=meta, price_fetched_at=None)
    assert (candidate.offer.hourly_usd, candidate.offer.billing_increment_minutes, candidate.offer.vram_gb) == (
        hourly, increment, vram)
    assert candidate.provider.relative_speed == 1.0 and candidate.provider.bandwidth_mbps == 100.0
