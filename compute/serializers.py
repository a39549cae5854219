"""Output serializers for advice and job summaries, shared by the APIs and the `advise` command.

They only render: every value is computed by the advisor or stored by the service.
"""
from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from compute.models import JobSummary


@extend_schema_field(OpenApiTypes.NUMBER)
class NumberField(serializers.Field):
    """A Decimal or float rendered as a JSON number: whole values as int, others rounded to `places`."""

    def __init__(self, places: int = 4, **kwargs):
        self.places = places
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        if isinstance(value, Decimal) and value == value.to_integral_value():
            return int(value)
        number = round(float(value), self.places)
        return int(number) if number.is_integer() else number


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
