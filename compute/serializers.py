"""Output serializers for advice and job summaries, shared by the APIs and the `advise` command.

They only render: every value is computed by the advisor or stored by the service. The advise answer itself is
rendered by `advice_render`, a plain function that gives exactly what AdviceSerializer documents (a test compares
the two byte for byte) in a tenth of the time: a serializer deep-copies its declared fields for every nested
instance, which cost more per request than the advice (bench/advise.py --catalog).
"""
import functools
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from comfyvn_site.renderers import SharedHead, WithSharedHead
from compute.candidate_cache import IdentityMemo
from compute.models import JobSummary
from compute.types import (
    Advice,
    CostEstimate,
    LocalGpu,
    Offer,
    Rejection,
    ScoreBreakdown,
    ScoredCandidate,
    WorkloadAnalysis,
)

if TYPE_CHECKING:
    from compute.services import AdviceResult


@extend_schema_field(OpenApiTypes.NUMBER)
class NumberField(serializers.Field):
    """A Decimal or float rendered as a JSON number: whole values as int, others rounded to `places`."""

    def __init__(self, places: int = 4, **kwargs):
        self.places = places
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return number_render(value, self.places)


@functools.lru_cache(maxsize=4096)
def number_render(value: Decimal | float | None, places: int = 4) -> int | float | None:
    """Whole values as int, others rounded to `places`.

    An advice over 1,000 providers renders thousands of these, mostly the same few prices and billing steps, so
    they are memoised (equal numbers render alike whatever their type), and the Decimal test for a whole value
    only runs beyond 2**53, where a float no longer holds every integer exactly.
    """
    if value is None:
        return None
    number = round(float(value), places)
    if not number.is_integer():
        return number
    if abs(number) >= 2**53 and isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return int(number)


def _number(**kwargs) -> NumberField:
    return NumberField(allow_null=True, **kwargs)


class CostSerializer(serializers.Serializer):
    hourly_usd = _number()
    billing_increment_minutes = _number()
    billed_minutes = _number()
    estimated_cost_usd = _number(places=2)


class ScoreBreakdownSerializer(serializers.Serializer):
    mode = serializers.CharField()
    total = _number()
    estimated_cost_usd = _number(places=2)
    startup_minutes = _number()
    transfer_minutes = _number()
    compute_minutes = _number()
    time_to_result_minutes = _number()
    cost_ratio = _number()
    time_ratio = _number()
    preferred_workload_bonus = _number()
    persistent_cache_bonus = _number()
    deprioritised_unhealthy = serializers.BooleanField()


class OfferSerializer(serializers.Serializer):
    """The offer a candidate stands for: a catalog row (source e.g. 'skypilot') or the provider's meta."""

    offer_id = serializers.CharField()
    instance_type = serializers.CharField()
    gpu = serializers.CharField()
    gpu_count = serializers.IntegerField()
    vram_gb = _number()
    region = serializers.CharField(allow_null=True)
    zone = serializers.CharField(allow_null=True)
    hourly_usd = _number(places=6)
    source = serializers.CharField()
    source_version = serializers.CharField()
    price_fetched_at = serializers.DateTimeField(allow_null=True)
    price_stale = serializers.BooleanField()


class CandidateSerializer(serializers.Serializer):
    """A ranked remote candidate: the provider, the offer used, its cost and how it scored."""

    id = serializers.CharField(source="candidate.provider.id")
    name = serializers.CharField(source="candidate.provider.name")
    service = serializers.CharField(source="candidate.provider.service")
    base_url = serializers.CharField(source="candidate.provider.base_url")
    health = serializers.CharField(source="candidate.provider.health")
    gpu = serializers.CharField(source="candidate.offer.gpu")
    vram_gb = _number(source="candidate.offer.vram_gb")
    regions = serializers.ListField(source="candidate.regions", child=serializers.CharField())
    offer = OfferSerializer(source="candidate.offer")
    cost = CostSerializer()
    estimated_cost = serializers.CharField(source="cost.display")
    policy_hint = serializers.CharField(allow_null=True)
    egress_notice = serializers.CharField(source="candidate.provider.egress_notice", allow_null=True)
    score = _number(source="score.total")
    score_breakdown = ScoreBreakdownSerializer(source="score")


class RejectionSerializer(serializers.Serializer):
    id = serializers.CharField(source="candidate.provider.id")
    name = serializers.CharField(source="candidate.provider.name")
    offer_id = serializers.CharField(source="candidate.offer.offer_id")
    code = serializers.CharField()
    codes = serializers.ListField(child=serializers.CharField())
    message = serializers.CharField()
    cost = CostSerializer(allow_null=True)
    estimated_cost = serializers.CharField(source="cost.display", allow_null=True, default=None)


class LocalGpuSerializer(serializers.Serializer):
    host = serializers.CharField()
    index = serializers.IntegerField()
    uuid = serializers.CharField()
    name = serializers.CharField()
    total_gb = _number(places=2)
    free_gb = _number(places=2)
    usable_gb = _number(places=2)
    utilization_pct = _number(places=1)


class AnalysisSerializer(serializers.Serializer):
    workload_type = serializers.CharField(allow_null=True)
    total_asset_mb = _number(places=2)
    largest_asset_mb = _number(places=2)
    uncached_asset_mb = _number(places=2)
    cached_workflows = serializers.IntegerField()
    uncached_workflows = serializers.IntegerField()
    requires_persistent_storage = serializers.BooleanField()
    expected_runtime_minutes = _number()
    mode = serializers.CharField()
    min_vram_gb = _number(places=2)
    min_vram_inferred = serializers.BooleanField()
    requires_gpu = serializers.BooleanField()
    translation_requires_gpu = serializers.BooleanField()
    cost_sensitivity = serializers.CharField()
    budget_limit_usd = _number(places=2)
    residency_regions = serializers.ListField(child=serializers.CharField(), allow_null=True)
    gpu_count = serializers.IntegerField(allow_null=True)
    min_total_vram_gb = _number(places=2)


class WarningSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class JobSummarySerializer(serializers.ModelSerializer):
    """The audit summary as returned with each advice; `id` and `created_at` are null for a dry run."""

    id = serializers.UUIDField(allow_null=True, read_only=True)
    created_at = serializers.DateTimeField(allow_null=True, read_only=True)
    recommended_provider = serializers.CharField(source="provider_id", allow_null=True)
    estimated_cost_usd = _number(places=2)
    estimated_cost = serializers.SerializerMethodField()

    class Meta:
        model = JobSummary
        fields = ("id", "created_at", "choice", "recommended_provider", "estimated_cost_usd", "estimated_cost",
                  "policy_hint", "min_vram_gb", "asset_total_mb", "warnings", "source")
        read_only_fields = fields

    def get_estimated_cost(self, summary: JobSummary) -> str | None:
        cost = summary.estimated_cost_usd
        return None if cost is None else f"${cost:,.2f}"

    def to_representation(self, summary):
        data = super().to_representation(summary)
        data["recommended_provider"] = data["recommended_provider"] or None
        if summary._state.adding:  # a dry run: nothing was stored
            data["id"] = None
        return data


class JobSummaryDetailSerializer(JobSummarySerializer):
    """A stored summary with everything it recorded, for the audit API."""

    id = serializers.UUIDField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)

    user = serializers.CharField(source="user.get_username", allow_null=True, default=None)
    billed_minutes = _number()

    class Meta(JobSummarySerializer.Meta):
        fields = JobSummarySerializer.Meta.fields + ("user", "provider_name", "offer", "billed_minutes", "reason",
                                                     "workload", "analysis")
        read_only_fields = fields


class AdviceSerializer(serializers.Serializer):
    """The advise response: the guide's fields plus structured rejections, warnings and score breakdowns."""

    choice = serializers.CharField(source="advice.choice")
    reason = serializers.CharField(source="advice.reason")
    local_candidate = LocalGpuSerializer(source="advice.local_candidate", allow_null=True)
    remote_candidate = CandidateSerializer(source="advice.remote_candidate", allow_null=True)
    fallback = CandidateSerializer(source="advice.fallback", allow_null=True)
    alternatives = CandidateSerializer(source="advice.alternatives", many=True)
    rejected = RejectionSerializer(source="advice.rejected", many=True)
    analysis = AnalysisSerializer(source="advice.analysis")
    warnings = WarningSerializer(source="advice.warnings", many=True)
    job_summary = JobSummarySerializer(source="summary")


# --- advice_render: AdviceSerializer's output without building serializers -----------------------------------------

_DATETIME = serializers.DateTimeField()  # DRF's own formatting (timezone, ISO 8601 with Z), used as a function


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _texts(values: Iterable[Any] | None) -> list[str] | None:
    return None if values is None else [str(value) for value in values]


def _datetime(value) -> str | None:
    return None if value is None else _DATETIME.to_representation(value)


def _many(render: Callable[[Any], dict], items: Iterable[Any]) -> list[dict]:
    return [render(item) for item in items]


def _maybe(render: Callable[[Any], dict], item: Any) -> dict | None:
    return None if item is None else render(item)


def _cost(cost: CostEstimate) -> dict:
    return {"hourly_usd": number_render(cost.hourly_usd),
            "billing_increment_minutes": number_render(cost.billing_increment_minutes),
            "billed_minutes": number_render(cost.billed_minutes),
            "estimated_cost_usd": number_render(cost.estimated_cost_usd, 2)}


def _score(score: ScoreBreakdown) -> dict:
    return {"mode": str(score.mode), "total": number_render(score.total),
            "estimated_cost_usd": number_render(score.estimated_cost_usd, 2),
            "startup_minutes": number_render(score.startup_minutes),
            "transfer_minutes": number_render(score.transfer_minutes),
            "compute_minutes": number_render(score.compute_minutes),
            "time_to_result_minutes": number_render(score.time_to_result_minutes),
            "cost_ratio": number_render(score.cost_ratio), "time_ratio": number_render(score.time_ratio),
            "preferred_workload_bonus": number_render(score.preferred_workload_bonus),
            "persistent_cache_bonus": number_render(score.persistent_cache_bonus),
            "deprioritised_unhealthy": bool(score.deprioritised_unhealthy)}


def _offer(offer: Offer) -> dict:
    return {"offer_id": str(offer.offer_id), "instance_type": str(offer.instance_type), "gpu": str(offer.gpu),
            "gpu_count": int(offer.gpu_count), "vram_gb": number_render(offer.vram_gb), "region": _text(offer.region),
            "zone": _text(offer.zone), "hourly_usd": number_render(offer.hourly_usd, 6), "source": str(offer.source),
            "source_version": str(offer.source_version), "price_fetched_at": _datetime(offer.price_fetched_at),
            "price_stale": bool(offer.price_stale)}


def _candidate(scored: ScoredCandidate) -> dict:
    provider, offer = scored.candidate.provider, scored.candidate.offer
    return {"id": str(provider.id), "name": str(provider.name), "service": str(provider.service),
            "base_url": str(provider.base_url), "health": str(provider.health), "gpu": str(offer.gpu),
            "vram_gb": number_render(offer.vram_gb), "regions": _texts(scored.candidate.regions),
            "offer": _offer(offer), "cost": _cost(scored.cost), "estimated_cost": scored.cost.display,
            "policy_hint": _text(scored.policy_hint), "egress_notice": _text(provider.egress_notice),
            "score": number_render(scored.score.total), "score_breakdown": _score(scored.score)}


def _rejection(rejection: Rejection) -> dict:
    candidate, cost = rejection.candidate, rejection.cost
    return {"id": candidate.provider.id, "name": candidate.provider.name, "offer_id": candidate.offer.offer_id,
            "code": rejection.code.value, "codes": _codes(rejection.codes), "message": rejection.message,
            "cost": None if cost is None else _shared_cost(cost),
            "estimated_cost": None if cost is None else cost.display}


# A large registry rejects hundreds of candidates per advice, mostly with the same few reasons and prices; these
# renderings are shared between entries (and answers), so nothing may change them.
_codes = functools.lru_cache(maxsize=512)(_texts)
_shared_cost = functools.lru_cache(maxsize=4096)(_cost)


def _local_gpu(gpu: LocalGpu) -> dict:
    return {"host": str(gpu.host), "index": int(gpu.index), "uuid": str(gpu.uuid), "name": str(gpu.name),
            "total_gb": number_render(gpu.total_gb, 2), "free_gb": number_render(gpu.free_gb, 2),
            "usable_gb": number_render(gpu.usable_gb, 2), "utilization_pct": number_render(gpu.utilization_pct, 1)}


def _analysis(analysis: WorkloadAnalysis) -> dict:
    return {"workload_type": _text(analysis.workload_type),
            "total_asset_mb": number_render(analysis.total_asset_mb, 2),
            "largest_asset_mb": number_render(analysis.largest_asset_mb, 2),
            "uncached_asset_mb": number_render(analysis.uncached_asset_mb, 2),
            "cached_workflows": int(analysis.cached_workflows), "uncached_workflows": int(analysis.uncached_workflows),
            "requires_persistent_storage": bool(analysis.requires_persistent_storage),
            "expected_runtime_minutes": number_render(analysis.expected_runtime_minutes),
            "mode": str(analysis.mode), "min_vram_gb": number_render(analysis.min_vram_gb, 2),
            "min_vram_inferred": bool(analysis.min_vram_inferred), "requires_gpu": bool(analysis.requires_gpu),
            "translation_requires_gpu": bool(analysis.translation_requires_gpu),
            "cost_sensitivity": str(analysis.cost_sensitivity),
            "budget_limit_usd": number_render(analysis.budget_limit_usd, 2),
            "residency_regions": _texts(analysis.residency_regions),
            "gpu_count": None if analysis.gpu_count is None else int(analysis.gpu_count),
            "min_total_vram_gb": number_render(analysis.min_total_vram_gb, 2)}


def _job_summary(summary: JobSummary) -> dict:
    cost = summary.estimated_cost_usd
    return {"id": None if summary._state.adding else str(summary.id),  # a dry run stored nothing
            "created_at": _datetime(summary.created_at), "choice": str(summary.choice),
            "recommended_provider": summary.provider_id or None, "estimated_cost_usd": number_render(cost, 2),
            "estimated_cost": None if cost is None else f"${cost:,.2f}", "policy_hint": str(summary.policy_hint),
            "min_vram_gb": None if summary.min_vram_gb is None else float(summary.min_vram_gb),
            "asset_total_mb": float(summary.asset_total_mb), "warnings": summary.warnings,
            "source": str(summary.source)}


def advice_render(result: "AdviceResult") -> WithSharedHead:
    """The advise answer, as AdviceSerializer documents it.

    The advice part is rendered once per Advice object and reused, as the head of every answer that gives it: the
    service hands out the same immutable object for a repeated question (compute/services.py), and rendering an
    answer that lists a thousand rejections cost more than finding it. The head also keeps its JSON encoding and gzip
    stream (comfyvn_site/renderers.py), so a repeated answer encodes and compresses only its job summary. The
    rendered dicts are shared between responses, so nothing may change them.
    """
    advice = result.advice
    head = _RENDERED.get((advice,))
    if head is None:
        head = SharedHead(_advice_render(advice))
        _RENDERED.put((advice,), None, head)
    return WithSharedHead(head, {"job_summary": _job_summary(result.summary)})


_RENDERED = IdentityMemo(maxsize=16)


def _advice_render(advice: Advice) -> dict:
    return {"choice": str(advice.choice), "reason": str(advice.reason),
            "local_candidate": _maybe(_local_gpu, advice.local_candidate),
            "remote_candidate": _maybe(_candidate, advice.remote_candidate),
            "fallback": _maybe(_candidate, advice.fallback), "alternatives": _many(_candidate, advice.alternatives),
            "rejected": _many(_rejection, advice.rejected), "analysis": _analysis(advice.analysis),
            "warnings": [{"code": str(w.code), "message": str(w.message)} for w in advice.warnings]}
