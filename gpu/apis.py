"""APIs: thin views over the GPU inventory selectors."""
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from gpu.selectors import gpu_listing_get
from gpu.services import gpu_self_report_if_due


class GpuListApi(APIView):
    """Every host's CPU and GPUs (stale hosts flagged), every remote provider, and this host's NVML state."""

    class OutputSerializer(serializers.Serializer):
        class DeviceSerializer(serializers.Serializer):
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

        class RemoteSerializer(serializers.Serializer):
            id = serializers.CharField(help_text='"remote:<provider id>".')
            provider_id = serializers.CharField()
            name = serializers.CharField()
            service = serializers.CharField()
            active = serializers.BooleanField()
            available = serializers.BooleanField(help_text="True only once a health check has succeeded.")
            health_state = serializers.CharField(help_text='"unverified", "healthy" or "unhealthy".')
            last_checked_at = serializers.DateTimeField(allow_null=True)

        class SystemSerializer(serializers.Serializer):
            hostname = serializers.CharField()
            cpu_count = serializers.IntegerField()
            cpu_percent = serializers.FloatField(allow_null=True)
            memory_total_mb = serializers.IntegerField()
            memory_available_mb = serializers.IntegerField()
            gpu_count = serializers.IntegerField()
            stale_after_seconds = serializers.IntegerField()

        class NvmlSerializer(serializers.Serializer):
            available = serializers.BooleanField()
            reason = serializers.CharField(allow_null=True)
            driver_version = serializers.CharField(allow_null=True)
            cuda_driver_version = serializers.CharField(allow_null=True)

        devices = DeviceSerializer(many=True)
        remote = RemoteSerializer(many=True)
        system = SystemSerializer()
        nvml = NvmlSerializer()

    def get(self, request):
        gpu_self_report_if_due()
        return Response(self.OutputSerializer(gpu_listing_get()).data)
