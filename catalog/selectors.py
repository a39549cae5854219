"""Selectors: read-only queries over the offer catalog, each a bounded number of queries."""
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Count, ExpressionWrapper, F, FloatField, Max, Min, Q, QuerySet, Value

from catalog.gpus import gpu_canonical
from catalog.models import Offer


@dataclass(frozen=True)
class OfferFilters:
    gpu: str | None = None
    gpu_count: int | None = None
    min_vram_gb: float | None = None
    max_hourly_usd: Decimal | None = None
    region: str | None = None
    provider: str | None = None


@dataclass(frozen=True)
class GpuSummary:
    """One row of the GPU listing, like `sky show-gpus`: what a GPU costs across the registry's providers."""

    gpu: str
    vendor: str
    vram_gb: float
    gpu_counts: list[int]
    offers: int
    providers: list[str]
    min_hourly_usd: Decimal
    max_hourly_usd: Decimal
    min_hourly_usd_per_gpu: Decimal


def offer_list(*, filters: OfferFilters) -> QuerySet[Offer]:
    """Offers of active providers matching the filters, cheapest first; the caller paginates."""
    queryset = Offer.objects.filter(provider__active=True)
    if filters.gpu:
        spec = gpu_canonical(filters.gpu)
        if spec is None:
            raise ValidationError({"gpu": f"Unknown GPU '{filters.gpu}'; GET /api/gpus/ lists the known ones."})
        queryset = queryset.filter(gpu_name=spec.name)
    if filters.gpu_count is not None:
        queryset = queryset.filter(gpu_count=filters.gpu_count)
    if filters.min_vram_gb is not None:
        queryset = queryset.filter(vram_per_gpu_gb__gte=filters.min_vram_gb)
    if filters.max_hourly_usd is not None:
        queryset = queryset.filter(hourly_usd__lte=filters.max_hourly_usd)
    if filters.region:
        queryset = queryset.filter(region__iexact=filters.region)
    if filters.provider:
        queryset = queryset.filter(provider_id=filters.provider)
    return queryset.order_by("hourly_usd", "provider_id", "instance_type", "region", "zone")


def gpu_summary_list(*, filters: OfferFilters) -> list[GpuSummary]:
    """Offers grouped by GPU, smallest VRAM first, in one query grouped by (GPU, provider, GPU count)."""
    groups = (offer_list(filters=filters).order_by().values("gpu_name", "provider_id", "gpu_count")
              .annotate(offers=Count("id"), low=Min("hourly_usd"), high=Max("hourly_usd"),
                        vram=Min("vram_per_gpu_gb")))
    by_gpu: dict[str, list[dict]] = {}
    for group in groups:
        by_gpu.setdefault(group["gpu_name"], []).append(group)
    summaries = []
    for name, rows in by_gpu.items():
        spec = gpu_canonical(name)  # None only if the table dropped a GPU after an import
        summaries.append(GpuSummary(
            gpu=name, vendor=spec.vendor if spec else "",
            vram_gb=spec.vram_gb if spec else min(r["vram"] for r in rows),
            gpu_counts=sorted({r["gpu_count"] for r in rows}), offers=sum(r["offers"] for r in rows),
            providers=sorted({r["provider_id"] for r in rows}), min_hourly_usd=min(r["low"] for r in rows),
            max_hourly_usd=max(r["high"] for r in rows),
            min_hourly_usd_per_gpu=min(r["low"] / r["gpu_count"] for r in rows).quantize(Decimal("0.000001"))))
    return sorted(summaries, key=lambda s: (s.vram_gb, s.gpu))


@dataclass(frozen=True)
class OfferNeed:
    """What a workload needs from an offer: VRAM per GPU, and optionally a GPU count or a total VRAM."""

    min_vram_per_gpu_gb: float | None = None
    gpu_count: int | None = None
    min_total_vram_gb: float | None = None
    regions: tuple[str, ...] | None = None


def _need_q(need: OfferNeed) -> Q:
    """The need as a filter over offers.

    Regions follow the advisor's rule: an offer's region equals or starts with an allowed entry (case-insensitive),
    `global` matches any entry, `marketplace` none, and an empty list allows nothing.
    """
    condition = Q(pk__isnull=False)  # always true: a need without requirements fits every offer
    if need.min_vram_per_gpu_gb is not None:
        condition &= Q(vram_per_gpu_gb__gte=need.min_vram_per_gpu_gb)
    if need.gpu_count is not None:
        condition &= Q(gpu_count__gte=need.gpu_count)
    if need.min_total_vram_gb is not None:  # VRAM x GPUs >= total, written so that it needs no annotation
        condition &= Q(vram_per_gpu_gb__gte=ExpressionWrapper(Value(float(need.min_total_vram_gb)) / F("gpu_count"),
                                                               output_field=FloatField()))
    if need.regions is not None:
        allowed = Q(pk__isnull=True)  # never true: no entry allows nothing
        for entry in need.regions:
            allowed |= Q(region__istartswith=entry)
        if need.regions:
            allowed |= Q(region__iexact="global")
        condition &= allowed & ~Q(region__iexact="marketplace")
    return condition


def offers_for_advice(*, provider_ids: list[str], need: OfferNeed, per_provider: int) -> list[Offer]:
    """For each provider, its `per_provider` cheapest offers that meet the need, chosen in the database.

    One query: per provider, a LIMIT subquery walks the (provider, price) index until enough offers fit, so the cost
    follows the number of providers with a catalog, not the number of offers. Ties on price go to more VRAM, then to
    the older row. A provider none of whose offers fits yields its largest-VRAM offer instead, from a second query
    that runs only then, so the advisor can still say why it is rejected. Pass only providers that have offers.
    """
    fits, chosen = _need_q(need), Q(pk__isnull=True)  # never true: the start of an OR
    for provider_id in provider_ids:
        cheapest = Offer.objects.filter(fits, provider_id=provider_id).order_by("hourly_usd", "-vram_per_gpu_gb", "id")
        chosen |= Q(pk__in=cheapest.values("pk")[:per_provider])
    fitting = list(Offer.objects.filter(chosen).order_by("provider_id", "hourly_usd", "-vram_per_gpu_gb", "id"))
    missing = set(provider_ids) - {offer.provider_id for offer in fitting}
    if not missing:
        return fitting
    largest = Q(pk__isnull=True)
    for provider_id in sorted(missing):
        biggest = Offer.objects.filter(provider_id=provider_id).order_by("-vram_per_gpu_gb", "hourly_usd", "id")
        largest |= Q(pk__in=biggest.values("pk")[:1])
    return fitting + list(Offer.objects.filter(largest).order_by("provider_id"))
