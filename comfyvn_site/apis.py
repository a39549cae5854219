"""Site-wide APIs that belong to no app."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView


class PingApi(APIView):
    """The cheapest authenticated request the stack can serve: the floor the benchmarks compare the advisor against."""

    class OutputSerializer(serializers.Serializer):
        ok = serializers.BooleanField()
        user = serializers.CharField()

        class Meta:
            ref_name = "Ping"

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        return Response(self.OutputSerializer({"ok": True, "user": request.user.get_username()}).data)
