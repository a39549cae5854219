"""APIs: list offers, list GPUs across offers, and import a catalog file (thin: parse, call, serialize)."""
from dataclasses import asdict

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.selectors import OfferFilters, gpu_summary_list, offer_list
from catalog.services import PARSERS, offer_catalog_file_import
from comfyvn_site.pagination import LimitOffsetPagination
from providers.selectors import provider_get


class OfferFilterSerializer(serializers.Serializer):
    gpu = serializers.CharField(required=False, max_length=64, help_text="GPU name, any spelling: 'A100-80GB'.")
    gpu_count = serializers.IntegerField(required=False, min_value=1, max_value=1024,
                                         help_text="Exactly this many GPUs per instance.")
    min_vram_gb = serializers.FloatField(required=False, min_value=0, help_text="At least this much VRAM per GPU.")
    max_hourly_usd = serializers.DecimalField(required=False, max_digits=12, decimal_places=6, min_value=0,
                                              help_text="At most this on-demand price per instance-hour.")
    region = serializers.CharField(required=False, max_length=128, help_text="Region, case-insensitive.")
    provider = serializers.SlugField(required=False, max_length=64, help_text="Provider id.")


class OfferPagination(LimitOffsetPagination):
    max_limit = 500


class OfferListApi(APIView):
    """Priced offers of the active providers, cheapest first, paginated (limit/offset)."""

    @extend_schema_serializer(component_name="CatalogOffer")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        provider = serializers.CharField(source="provider_id")
        instance_type = serializers.CharField()
        gpu = serializers.CharField(source="gpu_name")
        gpu_count = serializers.IntegerField()
        vram_per_gpu_gb = serializers.FloatField()
        vcpus = serializers.FloatField()
        memory_gb = serializers.FloatField()
        region = serializers.CharField()
        zone = serializers.CharField()
        hourly_usd = serializers.DecimalField(max_digits=12, decimal_places=6)
        spot_hourly_usd = serializers.DecimalField(max_digits=12, decimal_places=6, allow_null=True)
        source = serializers.CharField()
        source_version = serializers.CharField()
        fetched_at = serializers.DateTimeField()
        manual_override = serializers.BooleanField()

    @extend_schema(parameters=[OfferFilterSerializer], responses=inline_serializer("OfferPage", {
        "count": serializers.IntegerField(), "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True), "results": OutputSerializer(many=True)}))
    def get(self, request):
        filters = OfferFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = OfferPagination()
        page = paginator.paginate_queryset(offer_list(filters=OfferFilters(**filters.validated_data)), request, self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class GpuListApi(APIView):
    """Offers grouped by GPU, like `sky show-gpus`: VRAM, GPU counts offered, providers, price range."""

    @extend_schema_serializer(component_name="GpuSummary")
    class OutputSerializer(serializers.Serializer):
        gpu = serializers.CharField()
        vendor = serializers.CharField()
        vram_gb = serializers.FloatField()
        gpu_counts = serializers.ListField(child=serializers.IntegerField())
        offers = serializers.IntegerField()
        providers = serializers.ListField(child=serializers.CharField())
        min_hourly_usd = serializers.DecimalField(max_digits=12, decimal_places=6)
        max_hourly_usd = serializers.DecimalField(max_digits=12, decimal_places=6)
        min_hourly_usd_per_gpu = serializers.DecimalField(max_digits=12, decimal_places=6)

    @extend_schema(parameters=[OfferFilterSerializer], responses=inline_serializer("GpuCatalogPage", {
        "count": serializers.IntegerField(), "results": OutputSerializer(many=True)}))
    def get(self, request):
        filters = OfferFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        summaries = gpu_summary_list(filters=OfferFilters(**filters.validated_data))
        return Response({"count": len(summaries), "results": self.OutputSerializer(summaries, many=True).data})


class OfferCatalogImportApi(APIView):
    """Staff upload of a catalog file (multipart field `file`) as one provider's offers; same rules as the command."""

    permission_classes = [IsAdminUser]
    parser_classes = [MultiPartParser]

    @extend_schema_serializer(component_name="OfferImportRequest")
    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(help_text="The catalog file, e.g. a SkyPilot vms.csv.")
        format = serializers.ChoiceField(choices=sorted(PARSERS), default="skypilot")
        source_version = serializers.CharField(required=False, max_length=200,
                                               help_text="Version of the file; default: its SHA-256 prefix.")
        fetched_at = serializers.DateTimeField(required=False, help_text="When the prices were fetched; default: now.")
        dry_run = serializers.BooleanField(default=False, help_text="Report what would change; write nothing.")

        def validate_file(self, file):
            limit = settings.COMFYVN_CATALOG_MAX_UPLOAD_BYTES
            if file.size > limit:
                raise serializers.ValidationError(f"The file has {file.size} bytes; the limit is {limit}.")
            return file

    @extend_schema_serializer(component_name="OfferImportReport")
    class OutputSerializer(serializers.Serializer):
        provider = serializers.CharField()
        source = serializers.CharField()
        source_version = serializers.CharField()
        dry_run = serializers.BooleanField()
        rows_read = serializers.IntegerField()
        created = serializers.IntegerField()
        updated = serializers.IntegerField()
        unchanged = serializers.IntegerField()
        skipped = serializers.DictField()
        notes = serializers.DictField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request, provider_id):
        provider = provider_get(provider_id=provider_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        args = data.validated_data
        report = offer_catalog_file_import(
            provider=provider, data=args["file"].read(), source=args["format"],
            source_version=args.get("source_version") or "", fetched_at=args.get("fetched_at"),
            dry_run=args["dry_run"])
        return Response(self.OutputSerializer(asdict(report)).data)
