"""advice_render gives byte for byte what AdviceSerializer (the documented schema) renders, over varied advice."""
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from compute.serializers import AdviceSerializer, advice_render
from compute.services import advice_create
from compute.workload import workload_parse
from tests.catalog.conftest import CATALOG_FILES, import_file
from tests.compute.conftest import inventory_gpu_add

WORKLOADS = [
    {"requirements": {"type": "voice_synthesis", "estimated_minutes": 3}, "budget": {"mode": "cost_saver"}},
    {"requirements": {"type": "cg_batch", "estimated_minutes": 240}, "budget": {"mode": "balanced", "limit_usd": 5},
     "assets": [{"name": "scene.tar", "size_mb": 2400}], "workflows": [{"id": "w", "cached": True}]},
    {"requirements": {"type": "render", "min_vram_gb": 24, "estimated_minutes": 45}, "budget": {"mode": "speed"},
     "residency": {"regions": ["eu", "us"]}},
    {"requirements": {"type": "translation"}, "pipeline": {"translation": {"requires_gpu": True}}},
    {"requirements": {"type": "cg_batch", "min_vram_gb": 24, "gpu_count": 2, "estimated_minutes": 61.5},
     "budget": {"mode": "cost_saver", "limit_usd": 0.01}},
    {"requirements": {"min_total_vram_gb": 160}, "residency": {"regions": []}},
    {"requirements": {"type": "cg_batch", "min_vram_gb": 2000}},
]


@pytest.fixture
def mixed_registry(registry):
    providers = {p.id: p for p in registry("runpod", "vast", "lambda", "aws", "coreweave", "paperspace", "unraid")}
    registry("azure", active=False)
    registry("google", last_checked_at=timezone.now(), last_health={"ok": False})
    import_file(providers["runpod"], CATALOG_FILES["runpod"], fetched_at=timezone.now() - timedelta(days=30))
    import_file(providers["lambda"], CATALOG_FILES["lambda"], fetched_at=timezone.now())


def rendered(data) -> bytes:
    return JSONRenderer().render(data)


@pytest.mark.django_db
def test_advice_render_matches_the_serializer(mixed_registry, user):
    """Every workload x flags x local GPU, in one test: the registry (two imported catalogs) is set up once."""
    for local in (False, True):
        if local:
            inventory_gpu_add()
        for flags in ({}, {"prefer_remote": True}, {"hardware_override": True}, {"dry_run": True}):
            for raw in WORKLOADS:
                result = advice_create(workload=workload_parse(raw), user=user, source="scheduler", **flags)
                assert rendered(advice_render(result)) == rendered(AdviceSerializer(result).data), (raw, flags, local)
