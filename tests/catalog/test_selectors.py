"""offers_for_advice: the advisor's candidate offers, filtered and ranked in the database, checked by brute force."""
import pytest

from catalog.models import Offer
from catalog.selectors import OfferNeed, offers_for_advice
from tests.catalog.conftest import CATALOG_FILES

PROVIDERS = sorted(CATALOG_FILES)


def region_ok(region: str, allowed: tuple[str, ...]) -> bool:
    region = region.lower()
    return region != "marketplace" and (region == "global" and bool(allowed) or
                                        any(region.startswith(entry) for entry in allowed))


def brute_force(need: OfferNeed, per_provider: int) -> dict[str, list[int]]:
    """The same answer from every offer row, in Python."""
    def fits(o):
        return ((need.min_vram_per_gpu_gb is None or o.vram_per_gpu_gb >= need.min_vram_per_gpu_gb)
                and (need.gpu_count is None or o.gpu_count >= need.gpu_count)
                and (need.min_total_vram_gb is None or o.vram_per_gpu_gb * o.gpu_count >= need.min_total_vram_gb)
                and (need.regions is None or region_ok(o.region, need.regions)))
    answer = {}
    for pid in PROVIDERS:
        offers = list(Offer.objects.filter(provider_id=pid))
        fitting = sorted((o for o in offers if fits(o)), key=lambda o: (o.hourly_usd, -o.vram_per_gpu_gb, o.pk))
        if not fitting:
            fitting = sorted(offers, key=lambda o: (-o.vram_per_gpu_gb, o.hourly_usd, o.pk))[:1]
        answer[pid] = [o.pk for o in fitting[:per_provider]]
    return answer


@pytest.mark.parametrize("need", [
    OfferNeed(min_vram_per_gpu_gb=24),
    OfferNeed(min_vram_per_gpu_gb=80, gpu_count=2),
    OfferNeed(min_total_vram_gb=300),
    OfferNeed(min_vram_per_gpu_gb=24, regions=("eu", "us-east")),
    OfferNeed(min_vram_per_gpu_gb=200),
    OfferNeed(regions=()),
    OfferNeed(),
])
def test_offers_for_advice_matches_brute_force(imported_catalogs, need, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):  # the second only when some provider has no fitting offer
        offers = offers_for_advice(provider_ids=PROVIDERS, need=need, per_provider=3)
    got = {pid: [o.pk for o in offers if o.provider_id == pid] for pid in PROVIDERS}
    assert got == brute_force(need, 3)


def test_offers_for_advice_is_one_query_when_every_provider_has_a_fit(imported_catalogs, django_assert_num_queries):
    with django_assert_num_queries(1):
        offers = offers_for_advice(provider_ids=PROVIDERS, need=OfferNeed(min_vram_per_gpu_gb=16), per_provider=2)
    assert len(offers) == 2 * len(PROVIDERS)
