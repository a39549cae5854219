"""Selectors: read-only queries that turn registry rows into advisor candidates and list job summaries."""
from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from catalog.models import Offer as CatalogOffer
from catalog.selectors import OfferNeed, offers_for_advice
from comfyvn_site.db import repeated_query_rows
from compute.candidate_cache import Entry, VersionCache
from compute.models import JobSummary
from compute.types import Candidate, Health, LocalGpu, Offer, ProviderProfile
from gpu import selectors as gpu_selectors
from gpu.types import GpuDevice
from providers.models import Provider, ProviderKind

# Used when a provider's meta does not state them (docs/ADVISOR.md explains each value).
DEFAULT_STARTUP_MINUTES = 5.0
DEFAULT_BANDWIDTH_MBPS = 100.0
DEFAULT_RELATIVE_SPEED = 1.0
MIB_PER_GB = 1024
META_OFFER_SOURCE = "meta"
_CANDIDATE_FIELDS = ("id", "name", "service", "base_url", "active", "priority", "meta", "last_health",
                     "last_checked_at", "updated_at")
# The registry part plus one entry per recent workload need (VRAM floor, GPU count, total VRAM, regions).
_CACHE = VersionCache(maxsize=64)
_REGISTRY_KEY = "registry"


@dataclass(frozen=True, slots=True)
class _Registry:
    """What the provider rows give whatever the workload: each remote provider's meta candidate, in (priority, id)
    order, and the active providers whose catalog offers the advisor should consider instead."""

    from_meta: tuple[Candidate, ...]
    with_offers: tuple[str, ...]


# Moved by the database's triggers on every committed write to the provider and offer tables (`registry`) or to
# the GPU inventory (`gpu`) and, inside a writing transaction, on each of its writes
# (compute/migrations/0003_data_version.py): one row to read, however large the registry or the inventory.
_VERSIONS = {
    "postgresql": ("registry, coalesce(current_setting('comfyvn.change_registry', true), ''), "
                   "gpu, coalesce(current_setting('comfyvn.change_gpu', true), '')"),
    "sqlite": "registry, hex(registry_token), gpu, hex(gpu_token)",
}
_VERSIONS_SQL = {vendor: f"SELECT {columns} FROM compute_data_version" for vendor, columns in _VERSIONS.items()}
_VERSIONS_UNCHANGED_SQL = {vendor: f"EXISTS (SELECT 1 FROM compute_data_version WHERE ({columns}) = (%s, %s, %s, %s))"
                           for vendor, columns in _VERSIONS.items()}
_GPUS = VersionCache(maxsize=2)  # the fresh local GPUs, by staleness limit


def data_versions() -> tuple[tuple, tuple]:
    """What identifies the registry and the GPU inventory this connection sees: after any committed write, or any
    write of its own transaction, the next call reads a different one."""
    global _last_seen
    row = repeated_query_rows(_VERSIONS_SQL[connection.vendor], ())[0]
    _last_seen = (tuple(row[:2]), tuple(row[2:]))
    return _last_seen


_last_seen: tuple[tuple, tuple] | None = None


def data_versions_last_seen() -> tuple[tuple, tuple] | None:
    """What data_versions() last read in this process, which may have moved since (advice_inputs_kept)."""
    return _last_seen


def data_versions_unchanged(versions: tuple[tuple, tuple]) -> tuple[str, list]:
    """An SQL condition (and its parameters) that holds while the data versions are still `versions`, for an
    INSERT to check in its own snapshot (comfyvn_site.db.repeated_insert's `only_if`)."""
    return _VERSIONS_UNCHANGED_SQL[connection.vendor], [*versions[0], *versions[1]]


def registry_version() -> tuple:
    return data_versions()[0]


def advice_candidates_list(*, need: OfferNeed | None = None) -> tuple[Candidate, ...]:
    """Every remote provider's candidate offers: one query while the registry is unchanged, at most four after.

    An active provider with catalog offers yields its cheapest offers that meet `need` (VRAM floor per GPU, GPU
    count, total VRAM, allowed regions), filtered and ranked in the database (catalog.selectors.offers_for_advice),
    at most COMFYVN_ADVISOR_OFFERS_PER_PROVIDER of them. Any other provider yields the one offer its `meta`
    describes: the fallback for providers without a catalog. Inactive providers are included so the advisor can
    report them as rejected (`INACTIVE`); their offers are not loaded.

    Building candidates from 1,000 providers' rows and JSON meta costs tens of milliseconds, so the result is kept
    per process, per need, under registry_version(): any committed write is seen by the next call. The same
    tuple object comes back while nothing changed, so what is computed from it can be kept by its identity.
    """
    return _candidates_under(registry_version(), need=need)


AdviceInputs = tuple[tuple[Candidate, ...], tuple[LocalGpu, ...]]


def advice_inputs(*, need: OfferNeed | None = None) -> AdviceInputs:
    """advice_candidates_list(need) and the local GPUs of every fresh host, from one query while neither the
    registry nor the inventory changed. Both come back as the same objects until then, so what is computed from
    them can be kept by their identity."""
    registry, gpus = data_versions()
    return _candidates_under(registry, need=need), _local_gpus_under(gpus)


def advice_inputs_kept(*, need: OfferNeed | None, versions: tuple[tuple, tuple]) -> AdviceInputs | None:
    """What advice_inputs(need) gave under `versions`, if this process still keeps it, without a query (None if
    not). Nothing is built here: under versions that may have moved, a build would read data newer than its label.
    The caller must then check `versions` (data_versions_unchanged) before it relies on the answer."""
    registry, gpus = versions
    now = timezone.now()
    local_gpus = _GPUS.get(gpus, settings.GPU_STALE_AFTER_SECONDS, now)
    candidates = _CACHE.get(registry, _candidates_key(need), now)
    return None if local_gpus is None or candidates is None else (candidates, local_gpus)


def local_gpu_from_device(device: GpuDevice) -> LocalGpu:
    """GPU inventory devices report MiB; the advisor compares GB."""
    return LocalGpu(
        host=device.host, index=device.index, uuid=device.uuid, name=device.name,
        total_gb=device.memory_total_mb / MIB_PER_GB if device.memory_total_mb is not None else None,
        free_gb=device.memory_free_mb / MIB_PER_GB if device.memory_free_mb is not None else None,
        utilization_pct=device.utilization_pct,
    )


def _local_gpus_under(version: tuple) -> tuple[LocalGpu, ...]:
    now = timezone.now()
    local_gpus = _GPUS.get(version, settings.GPU_STALE_AFTER_SECONDS, now)
    if local_gpus is None:
        devices, valid_after, valid_until = gpu_selectors.gpu_devices_fresh(now=now)
        local_gpus = tuple(local_gpu_from_device(device) for device in devices)
        _GPUS.put(version, settings.GPU_STALE_AFTER_SECONDS,
                  Entry(local_gpus, valid_after=valid_after, valid_until=valid_until))
    return local_gpus


def _candidates_key(need: OfferNeed | None) -> tuple:
    return need or OfferNeed(), settings.COMFYVN_ADVISOR_OFFERS_PER_PROVIDER, settings.COMFYVN_PRICE_STALE_HOURS


def _candidates_under(version: tuple, *, need: OfferNeed | None) -> tuple[Candidate, ...]:
    now = timezone.now()
    key = _candidates_key(need)
    candidates = _CACHE.get(version, key, now)
    if candidates is None:
        registry = _CACHE.get(version, _REGISTRY_KEY, now)
        if registry is None:
            registry = _registry_load()
            _CACHE.put(version, _REGISTRY_KEY, Entry(registry))
        entry = _candidates_with_offers(registry, need=key[0], now=now)
        _CACHE.put(version, key, entry)
        candidates = entry.value
    return candidates


def _registry_load() -> _Registry:
    providers = (Provider.objects.filter(kind=ProviderKind.REMOTE).only(*_CANDIDATE_FIELDS)
                 .annotate(has_offers=Exists(CatalogOffer.objects.filter(provider=OuterRef("pk"))))
                 .order_by("priority", "id"))
    from_meta, with_offers = [], []
    for provider in providers:
        from_meta.append(candidate_from_meta(
            provider_id=provider.id, name=provider.name, service=provider.service, base_url=provider.base_url,
            priority=provider.priority, active=provider.active, health=Health(provider.health_state),
            meta=provider.meta, price_fetched_at=provider.updated_at))
        if provider.active and provider.has_offers:
            with_offers.append(provider.id)
    return _Registry(from_meta=tuple(from_meta), with_offers=tuple(with_offers))


def _candidates_with_offers(registry: _Registry, *, need: OfferNeed, now: datetime) -> Entry:
    """The registry's candidates with catalog offers in place of meta ones where a provider has them, valid until
    the first of those prices turns stale (or since the last one did)."""
    catalog: dict[str, list[CatalogOffer]] = {}
    if registry.with_offers:
        for offer in offers_for_advice(provider_ids=list(registry.with_offers), need=need,
                                       per_provider=settings.COMFYVN_ADVISOR_OFFERS_PER_PROVIDER):
            catalog.setdefault(offer.provider_id, []).append(offer)
    max_age = timedelta(hours=settings.COMFYVN_PRICE_STALE_HOURS)
    stale_before = now - max_age
    candidates: list[Candidate] = []
    turned_stale, turns_stale = [], []
    for from_meta in registry.from_meta:
        offers = catalog.get(from_meta.provider.id)
        if not offers:
            candidates.append(from_meta)
            continue
        increment = from_meta.offer.billing_increment_minutes  # catalogs carry no billing rules; the registry does
        for offer in offers:
            candidates.append(Candidate(provider=from_meta.provider,
                                        offer=_offer_from_catalog(offer, increment, stale_before)))
            (turned_stale if offer.fetched_at < stale_before else turns_stale).append(offer.fetched_at + max_age)
    return Entry(tuple(candidates), valid_after=max(turned_stale, default=None),
                 valid_until=min(turns_stale, default=None))


def _offer_from_catalog(offer: CatalogOffer, increment: Decimal, stale_before: datetime) -> Offer:
    zone = f"/{offer.zone}" if offer.zone else ""
    return Offer(
        offer_id=f"{offer.provider_id}/{offer.instance_type}/{offer.region}{zone}", instance_type=offer.instance_type,
        gpu=offer.gpu_name, gpu_count=offer.gpu_count, vram_gb=offer.vram_per_gpu_gb, region=offer.region,
        hourly_usd=offer.hourly_usd, billing_increment_minutes=increment, price_fetched_at=offer.fetched_at,
        source=offer.source, zone=offer.zone or None, source_version=offer.source_version,
        price_stale=offer.fetched_at < stale_before)


def candidate_from_meta(*, provider_id: str, name: str, service: str, base_url: str, priority: int, active: bool,
                        health: Health, meta: Any, price_fetched_at: datetime | None) -> Candidate:
    """Build the candidate a provider's `meta` describes; malformed values fall back to "unknown" or defaults."""
    meta = meta if isinstance(meta, dict) else {}
    regions = meta.get("regions")
    preferred = meta.get("preferred_workloads")
    hints = meta.get("policy_hints")
    notice = meta.get("egress_notice")
    profile = ProviderProfile(
        id=provider_id, name=name, service=service, base_url=base_url, priority=priority, active=active,
        health=health,
        regions=tuple(r for r in regions if isinstance(r, str)) if isinstance(regions, list) else (),
        supports_large_assets=meta.get("supports_large_assets") is True,
        supports_persistent_storage=meta.get("supports_persistent_storage") is True,
        supports_long_running=meta.get("supports_long_running") is True,
        supports_short_burst=meta.get("supports_short_burst") is True,
        startup_minutes=_number(meta.get("startup_minutes"), DEFAULT_STARTUP_MINUTES),
        bandwidth_mbps=_number(meta.get("bandwidth_mbps"), DEFAULT_BANDWIDTH_MBPS, positive=True),
        relative_speed=_number(meta.get("relative_speed"), DEFAULT_RELATIVE_SPEED, positive=True),
        preferred_workloads=frozenset(w for w in preferred if isinstance(w, str)) if isinstance(preferred, list)
        else frozenset(),
        policy_hints={k: v for k, v in hints.items() if isinstance(v, str)} if isinstance(hints, Mapping) else {},
        egress_notice=notice if isinstance(notice, str) and notice else None,
    )
    cost = meta.get("cost") if isinstance(meta.get("cost"), dict) else {}
    max_vram = _number(meta.get("max_vram_gb"), None)
    gpu = meta.get("gpu") if isinstance(meta.get("gpu"), str) else ""
    offer = Offer(
        offer_id=f"{provider_id}:meta", instance_type=gpu, gpu=gpu, gpu_count=1,
        # The largest VRAM on offer decides fit (upstream wrongly gated on the smallest, §7 item 7).
        vram_gb=max_vram if max_vram is not None else _number(meta.get("min_vram_gb"), None),
        region=None,
        hourly_usd=_decimal(cost.get("hourly_usd")),
        billing_increment_minutes=_decimal(cost.get("billing_increment_minutes")) or Decimal(0),
        price_fetched_at=price_fetched_at, source=META_OFFER_SOURCE,
    )
    return Candidate(provider=profile, offer=offer)


def _valid_number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            and 0 <= value <= 1_000_000)


def _number(value: Any, default: float | None, *, positive: bool = False) -> float | None:
    if not _valid_number(value) or (positive and value == 0):
        return default
    return float(value)


def _decimal(value: Any) -> Decimal | None:
    return Decimal(str(value)) if _valid_number(value) else None


def _visible_summaries(user) -> QuerySet[JobSummary]:
    """Staff see every summary; other users only the ones they asked for."""
    queryset = JobSummary.objects.select_related("user")
    return queryset if user.is_staff else queryset.filter(user_id=user.pk)


def job_summary_list(*, user, filters: Mapping[str, Any] | None = None) -> QuerySet[JobSummary]:
    """Summaries visible to `user`, newest first, narrowed by choice, provider, source and a `since` timestamp."""
    filters = filters or {}
    queryset = _visible_summaries(user).order_by("-created_at", "-id")
    if filters.get("choice"):
        queryset = queryset.filter(choice=filters["choice"])
    if filters.get("provider"):
        queryset = queryset.filter(provider_id=filters["provider"])
    if filters.get("source"):
        queryset = queryset.filter(source=filters["source"])
    if filters.get("since"):
        queryset = queryset.filter(created_at__gte=filters["since"])
    return queryset


def job_summary_get(*, summary_id: str, user) -> JobSummary:
    """One summary visible to `user`; malformed, unknown or someone else's ids all raise Http404.

    The id is matched as text in the URL (not a `uuid` converter) so that an anonymous caller gets 401, not 404.
    """
    try:
        summary_uuid = uuid.UUID(str(summary_id))
    except ValueError as exc:
        raise Http404("No such job summary.") from exc
    return get_object_or_404(_visible_summaries(user), id=summary_uuid)
