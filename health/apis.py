"""API: a provider's health-check history, and "check now" (synchronous, or queued for the worker)."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from comfyvn_site.pagination import LimitOffsetPagination
from health.models import CheckTrigger, HealthCheck
from health.selectors import health_check_list
from health.services import provider_health_check, provider_health_check_enqueue


class HealthCheckOutputSerializer(serializers.ModelSerializer):
    ok = serializers.BooleanField(read_only=True)

    class Meta:
        model = HealthCheck
        fields = ("id", "provider", "service", "status", "ok", "latency_ms", "http_status", "detail", "trigger",
                  "checked_at")


class ProviderHealthApi(APIView):
    """GET: history (any signed-in user). POST: check now (staff); `{"queue": true}` queues it instead."""

    class InputSerializer(serializers.Serializer):
        queue = serializers.BooleanField(default=False,
                                         help_text="Queue the check for the worker instead of waiting for it.")

    class QueuedSerializer(serializers.Serializer):
        provider_id = serializers.CharField()
        queued = serializers.BooleanField()

    def get_permissions(self):
        return [IsAdminUser()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(responses=HealthCheckOutputSerializer(many=True))
    def get(self, request, provider_id: str):
        checks = health_check_list(provider_id=provider_id)
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(checks, request, view=self)
        return paginator.get_paginated_response(HealthCheckOutputSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={200: HealthCheckOutputSerializer, 202: QueuedSerializer})
    def post(self, request, provider_id: str):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if serializer.validated_data["queue"]:
            provider_health_check_enqueue(provider_id=provider_id)
            return Response(self.QueuedSerializer({"provider_id": provider_id, "queued": True}).data,
                            status=status.HTTP_202_ACCEPTED)
        check = provider_health_check(provider_id=provider_id, trigger=CheckTrigger.MANUAL)
        return Response(HealthCheckOutputSerializer(check).data)
