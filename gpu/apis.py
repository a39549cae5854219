"""APIs: thin views over the GPU inventory selectors."""
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from gpu.selectors import gpu_listing_get
from gpu.services import gpu_self_report_if_due


class GpuListApi(APIView):
    """Every host's CPU and GPUs (stale hosts flagged), every remote provider, and this host's NVML state."""

    @extend_schema_serializer(component_name="GpuList")
    class OutputSerializer(serializers.Serializer):
        class GpuDeviceSerializer(serializers.Serializer):
            id = serializers.CharField(help_text='"cpu" or "cuda:<index>"; unique together with `host`.')
            host = serializers.CharField()
            kind = serializers.CharField(help_text='"cpu" or "gpu".')
            name = serializers.CharField()
            uuid = serializers.CharField(allow_null=True)
            memory_total_mb = serializers.IntegerField(allow_null=True)
            memory_free_mb = serializers.IntegerField(allow_null=True)
            utilization_pct = serializers.FloatField(allow_null=True)
            temperature_c = serializers.FloatField(allow_null=True)
            available = serializers.BooleanField(help_text="False when the host's report is stale.")
            stale = serializers.BooleanField()
            reported_at = serializers.DateTimeField()

        class GpuRemoteSerializer(serializers.Serializer):
            id = serializers.CharField(help_text='"remote:<provider id>".')
            provider_id = serializers.CharField()
            name = serializers.CharField()
            service = serializers.CharField()
            active = serializers.BooleanField()
            available = serializers.BooleanField(help_text="True only once a health check has succeeded.")
            health_state = serializers.CharField(help_text='"unverified", "healthy" or "unhealthy".')
            last_checked_at = serializers.DateTimeField(allow_null=True)

        class GpuSystemSerializer(serializers.Serializer):
            hostname = serializers.CharField()
            cpu_count = serializers.IntegerField()
            cpu_percent = serializers.FloatField(allow_null=True)
            memory_total_mb = serializers.IntegerField()
            memory_available_mb = serializers.IntegerField()
            gpu_count = serializers.IntegerField()
            stale_after_seconds = serializers.IntegerField()

        class GpuNvmlSerializer(serializers.Serializer):
            available = serializers.BooleanField()
            reason = serializers.CharField(allow_null=True)
            driver_version = serializers.CharField(allow_null=True)
            cuda_driver_version = serializers.CharField(allow_null=True)

        devices = GpuDeviceSerializer(many=True)
        remote = GpuRemoteSerializer(many=True)
        system = GpuSystemSerializer()
        nvml = GpuNvmlSerializer()

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        gpu_self_report_if_due()
        return Response(self.OutputSerializer(gpu_listing_get()).data)
