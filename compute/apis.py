"""APIs: parse the request, call one service or selector, render the result."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from comfyvn_site.pagination import LimitOffsetPagination
from compute.models import AdviceChoice
from compute.selectors import job_summary_get, job_summary_list
from compute.serializers import AdviceSerializer, JobSummaryDetailSerializer, advice_render
from compute.services import advice_create
from compute.workload import advice_query_parse, advice_request_parse

GUIDE_WORKLOAD = {
    "requirements": {"type": "cg_batch", "min_vram_gb": 24, "estimated_minutes": 180},
    "assets": [{"name": "scene_cache.tar", "size_mb": 2400}],
    "workflows": [{"id": "cg-upscale", "cached": False, "persist_outputs": True}],
    "budget": {"limit_usd": 20, "mode": "cost_saver"},
    "pipeline": {"translation": {"requires_gpu": True}},
    "residency": {"regions": ["eu", "on-prem"]},
}


class AdviceCreateApi(APIView):
    """Advise where a workload should run (gpu / remote / cpu), what it will cost and why.

    POST takes `{"workload": {...}, "prefer_remote", "hardware_override", "dry_run", "source"}` or the workload
    itself as the body, and records a job summary unless `dry_run`. GET takes upstream's query parameters
    (`task`, `size`, `prefer_remote`, `hardware_override`) and never records anything.
    """

    @extend_schema(
        operation_id="advice_create", request=OpenApiTypes.OBJECT, responses=AdviceSerializer,
        description="Body: `{workload, prefer_remote, hardware_override, dry_run, source}` or the workload itself. "
                    "Malformed fields give 400 with `extra.fields` keyed by the field path. Repeating a request "
                    "with the same `Idempotency-Key` header returns the same job summary (409 if the body differs).",
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
        examples=[OpenApiExample("Enveloped", value={"workload": GUIDE_WORKLOAD, "prefer_remote": False,
                                                     "dry_run": True, "source": "scheduler"}, request_only=True),
                  OpenApiExample("Bare workload", value=GUIDE_WORKLOAD, request_only=True)])
    def post(self, request: Request) -> Response:
        parsed = advice_request_parse(request.data, idempotency_key=request.headers.get("Idempotency-Key"))
        result = advice_create(workload=parsed.workload, prefer_remote=parsed.prefer_remote,
                               hardware_override=parsed.hardware_override, dry_run=parsed.dry_run,
                               source=parsed.source, user=request.user, idempotency_key=parsed.idempotency_key)
        return Response(advice_render(result))

    @extend_schema(
        operation_id="advice_preview", responses=AdviceSerializer,
        parameters=[
            OpenApiParameter("task", str, description="img (render), tts, export, or any workload type."),
            OpenApiParameter("size", str, description="Payload size in MB, or with a kb/mb/gb suffix."),
            OpenApiParameter("prefer_remote", bool), OpenApiParameter("hardware_override", bool)])
    def get(self, request: Request) -> Response:
        parsed = advice_query_parse(request.query_params)
        result = advice_create(workload=parsed.workload, prefer_remote=parsed.prefer_remote,
                               hardware_override=parsed.hardware_override, dry_run=True, user=request.user)
        return Response(advice_render(result))


@extend_schema_view(post=extend_schema(operation_id="gpu_advice_create"))
class GpuAdviceCreateApi(AdviceCreateApi):
    """POST /api/gpu/advise: the same advice under upstream's GPU path (the guide's dry-run check)."""

    http_method_names = ["post", "options"]


class JobSummaryListApi(APIView):
    """Audit trail of advice, newest first; staff see every summary, other users their own."""

    class FilterSerializer(serializers.Serializer):
        choice = serializers.ChoiceField(choices=AdviceChoice.choices, required=False)
        provider = serializers.CharField(max_length=64, required=False)
        source = serializers.CharField(max_length=64, required=False)
        since = serializers.DateTimeField(required=False, help_text="Only summaries created at or after this time.")

    @extend_schema(
        operation_id="job_summary_list", parameters=[FilterSerializer],
        responses=inline_serializer("PaginatedJobSummaryList", {
            "count": serializers.IntegerField(), "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True), "results": JobSummaryDetailSerializer(many=True)}))
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        summaries = job_summary_list(filters=filters.validated_data, user=request.user)
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(summaries, request, view=self)
        return paginator.get_paginated_response(JobSummaryDetailSerializer(page, many=True).data)


class JobSummaryDetailApi(APIView):
    @extend_schema(operation_id="job_summary_detail", responses=JobSummaryDetailSerializer)
    def get(self, request: Request, summary_id) -> Response:
        summary = job_summary_get(summary_id=summary_id, user=request.user)
        return Response(JobSummaryDetailSerializer(summary).data)
