"""Fixtures for the advisor: candidates built from the real curated template meta, with or without a database."""
import json
from decimal import Decimal

import pytest

from compute.selectors import candidate_from_meta
from compute.types import Candidate, Health, LocalGpu, Offer, ProviderProfile
from providers.models import Provider, ProviderKind, ProviderTemplate
from providers.services import TEMPLATES_FIXTURE

TEMPLATE_META = {spec["id"]: spec for spec in json.loads(TEMPLATES_FIXTURE.read_text())["templates"]}


def template_candidate(template_id: str, *, health: Health = Health.UNVERIFIED, active: bool = True,
                       **meta_overrides) -> Candidate:
    """The candidate a provider made from a curated template would yield (no database needed)."""
    spec = TEMPLATE_META[template_id]
    return candidate_from_meta(provider_id=template_id, name=spec["name"], service=spec["service"],
                               base_url=spec["base_url"], priority=spec["priority"], active=active, health=health,
                               meta={**spec["meta"], **meta_overrides}, price_fetched_at=None)


def make_candidate(provider_id: str, *, hourly: str | None = "1.00", increment: str = "0", vram: float | None = 24,
                   priority: int = 10, health: Health = Health.HEALTHY, regions: tuple[str, ...] = ("us-east",),
                   **profile) -> Candidate:
    """A synthetic candidate with every capability on unless overridden."""
    flags = {"supports_large_assets": True, "supports_persistent_storage": True, "supports_long_running": True,
             "supports_short_burst": True}
    provider = ProviderProfile(id=provider_id, name=provider_id.title(), service="test", base_url="https://x.test",
                               priority=priority, active=profile.pop("active", True), health=health, regions=regions,
                               **{**flags, **profile})
    offer = Offer(offer_id=f"{provider_id}:meta", instance_type="gpu", gpu="GPU", gpu_count=1, vram_gb=vram,
                  region=None, hourly_usd=Decimal(hourly) if hourly is not None else None,
                  billing_increment_minutes=Decimal(increment), price_fetched_at=None, source="test")
    return Candidate(provider=provider, offer=offer)


def local_gpu(total_gb: float | None = 24, free_gb: float | None = None, index: int = 0) -> LocalGpu:
    return LocalGpu(host="box", index=index, uuid=f"GPU-{index}", name="RTX 4090", total_gb=total_gb, free_gb=free_gb,
                    utilization_pct=None)


def inventory_gpu_add(*, uuid: str = "GPU-1", name: str = "RTX 4090", total_mb: int = 24564, free_mb: int = 20000,
                      utilization_pct: float | None = 3.25, host: str = "box") -> None:
    """A GPU reported just now by `host`, in the inventory tables the advisor reads."""
    from django.utils import timezone

    from gpu.models import GpuDevice, GpuHost

    now = timezone.now()
    gpu_host, _ = GpuHost.objects.get_or_create(hostname=host, defaults={
        "cpu_count": 8, "memory_total_mb": 32768, "memory_available_mb": 16384, "reported_at": now})
    GpuDevice.objects.create(uuid=uuid, host=gpu_host, index=gpu_host.devices.count(), name=name,
                             memory_total_mb=total_mb, memory_free_mb=free_mb, memory_used_mb=total_mb - free_mb,
                             utilization_pct=utilization_pct, reported_at=now)


def providers_create(count: int) -> None:
    """`count` remote providers with varied priority and price, in one bulk insert."""
    Provider.objects.bulk_create([
        Provider(id=f"p-{i:04d}", name=f"P {i}", kind=ProviderKind.REMOTE, service="runpod", base_url="https://x.test",
                 priority=i % 7, meta={"max_vram_gb": 24, "cost": {"hourly_usd": 0.5 + i / 1000}})
        for i in range(count)])


@pytest.fixture
def registry(templates):
    """Register providers from the curated templates by id, as the registry would (never health-checked)."""

    def create(*template_ids: str, **fields) -> list[Provider]:
        created = []
        for template_id in template_ids:
            template = ProviderTemplate.objects.get(id=template_id)
            created.append(Provider.objects.create(
                id=fields.get("id", template.id), name=template.name, kind=template.kind, service=template.service,
                base_url=template.base_url, priority=template.priority, meta=template.meta, template=template,
                **{k: v for k, v in fields.items() if k != "id"}))
        return created

    return create
