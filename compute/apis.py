"""APIs: parse the request, call one service or selector, render the result."""
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compute.models import AdviceChoice
from compute.selectors import job_summary_get, job_summary_list
from compute.serializers import AdviceSerializer, JobSummaryDetailSerializer
from compute.services import advice_create
from compute.workload import advice_query_parse, advice_request_parse


class AdviceCreateApi(APIView):
    """Advise where a workload should run (gpu / remote / cpu), what it will cost and why.

    POST takes `{"workload": {...}, "prefer_remote", "hardware_override", "dry_run", "source"}` or the workload
    itself as the body, and records a job summary unless `dry_run`. GET takes upstream's query parameters
    (`task`, `size`, `prefer_remote`, `hardware_override`) and never records anything.
    """

    def post(self, request: Request) -> Response:
        parsed = advice_request_parse(request.data)
        result = advice_create(workload=parsed.workload, prefer_remote=parsed.prefer_remote,
                               hardware_override=parsed.hardware_override, dry_run=parsed.dry_run,
                               source=parsed.source, user=request.user)
        return Response(AdviceSerializer(result).data)

    def get(self, request: Request) -> Response:
        parsed = advice_query_parse(request.query_params)
        result = advice_create(workload=parsed.workload, prefer_remote=parsed.prefer_remote,
                               hardware_override=parsed.hardware_override, dry_run=True, user=request.user)
        return Response(AdviceSerializer(result).data)


class JobSummaryListApi(APIView):
    """Audit trail of advice, newest first; staff see every summary, other users their own."""

    class FilterSerializer(serializers.Serializer):
        choice = serializers.ChoiceField(choices=AdviceChoice.choices, required=False)
        provider = serializers.CharField(max_length=64, required=False)
        source = serializers.CharField(max_length=64, required=False)
        since = serializers.DateTimeField(required=False)

    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        summaries = job_summary_list(filters=filters.validated_data, user=request.user)
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(summaries, request, view=self)
        return paginator.get_paginated_response(JobSummaryDetailSerializer(page, many=True).data)


class JobSummaryDetailApi(APIView):
    def get(self, request: Request, summary_id) -> Response:
        summary = job_summary_get(summary_id=summary_id, user=request.user)
        return Response(JobSummaryDetailSerializer(summary).data)
