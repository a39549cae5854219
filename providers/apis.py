"""API: the provider registry endpoints. Each action parses with an input serializer, makes one service or
selector call, and renders with an output serializer; the rules live in providers/services.py."""
from dataclasses import asdict

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.response import Response

from comfyvn_site.api import ErrorOutputSerializer
from comfyvn_site.client_address import client_is_loopback
from providers.models import RESERVED_PROVIDER_IDS, ProviderKind
from providers.selectors import provider_get, provider_list, template_list
from providers.services import (
    provider_create,
    provider_export,
    provider_import,
    provider_register,
    provider_remove,
    provider_template_specs_load,
    provider_update,
)

_ID_PATTERN = "[-a-zA-Z0-9_]+"
_MAX_INT = 2**31 - 1
_SECRET_VALUE_SCHEMA = {
    "oneOf": [{"type": "string"},
              {"type": "object", "properties": {"env": {"type": "string"}}, "required": ["env"]}],
    "nullable": True,
    "writeOnly": True,
}


def _credential_properties() -> dict:
    """Every credential of the curated templates, for the OpenAPI schema: write-only, never in a response."""
    properties = {}
    for spec in provider_template_specs_load():
        for name, prop in spec["auth_schema"]["properties"].items():
            if prop.get("writeOnly"):
                properties.setdefault(name, {**_SECRET_VALUE_SCHEMA, "description": prop.get("description", "")})
    return properties


@extend_schema_field({
    "type": "object",
    "additionalProperties": True,
    "writeOnly": True,
    "properties": _credential_properties(),
    "description": "Settings and credentials, validated against the template's `auth_schema` (required fields may "
                   "be left out: placeholders are fine). Credentials (the schema's writeOnly properties) are a "
                   "literal or {\"env\": \"NAME\"}; they are stored encrypted and never returned. An omitted "
                   "credential keeps its stored value; null clears it.",
})
class ConfigInputField(serializers.DictField):
    """Provider config on input: settings plus write-only credentials."""


class ProviderOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    service = serializers.CharField()
    base_url = serializers.CharField()
    active = serializers.BooleanField()
    priority = serializers.IntegerField()
    template = serializers.CharField(source="template_id", allow_null=True)
    meta = serializers.DictField()
    config = serializers.DictField(help_text="Non-secret settings only.")
    secrets_set = serializers.ListField(child=serializers.CharField(),
                                        help_text="Names of the credentials that are stored; never their values.")
    health = serializers.CharField(source="health_state", help_text="unverified, healthy or unhealthy.")
    available = serializers.BooleanField(help_text="True only once a health check has succeeded.")
    last_health = serializers.DictField()
    last_checked_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class TemplateOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    service = serializers.CharField()
    base_url = serializers.CharField()
    priority = serializers.IntegerField()
    docs_url = serializers.CharField()
    compatibility_note = serializers.CharField()
    meta = serializers.DictField(help_text="Defaults copied into providers created from this template.")
    auth_schema = serializers.DictField(help_text="JSON Schema of `config`; credentials are writeOnly.")


class ProviderCreateInputSerializer(serializers.Serializer):
    template_id = serializers.CharField(max_length=64)
    id = serializers.CharField(max_length=64, required=False, help_text="Default: a slug of the name, "
                                                                         "suffixed -2, -3... on collision.")
    name = serializers.CharField(max_length=200, required=False)
    base_url = serializers.CharField(max_length=2048, required=False)
    config = ConfigInputField(required=False, write_only=True)
    meta = serializers.DictField(required=False, help_text="Deep-merged over the template's meta.")
    priority = serializers.IntegerField(min_value=0, max_value=_MAX_INT, required=False)
    active = serializers.BooleanField(required=False)


class ProviderRegisterInputSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=64, required=False, help_text="Default: a slug of the name.")
    name = serializers.CharField(max_length=200, required=False)
    kind = serializers.ChoiceField(choices=ProviderKind.choices, required=False)
    service = serializers.CharField(max_length=64, required=False)
    base_url = serializers.CharField(max_length=2048, required=False)
    active = serializers.BooleanField(required=False)
    priority = serializers.IntegerField(min_value=0, max_value=_MAX_INT, required=False)
    template = serializers.CharField(max_length=64, required=False, allow_null=True,
                                     help_text="Template id; default: the current one, else the service's.")
    meta = serializers.DictField(required=False, help_text="Deep-merged over the template's meta.")
    config = ConfigInputField(required=False, write_only=True)


class ProviderUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    base_url = serializers.CharField(max_length=2048, required=False)
    active = serializers.BooleanField(required=False)
    priority = serializers.IntegerField(min_value=0, max_value=_MAX_INT, required=False)
    meta = serializers.DictField(required=False, help_text="Deep-merged over the stored meta.")
    config = ConfigInputField(required=False, write_only=True)


class ProviderImportInputSerializer(serializers.Serializer):
    version = serializers.ChoiceField(choices=[1], required=False)
    providers = serializers.ListField(child=serializers.JSONField(), help_text="Registry entries, as exported.")
    replace = serializers.BooleanField(default=False, help_text="Also remove providers absent from the file "
                                                                "(never `local`).")
    overwrite = serializers.BooleanField(default=True, help_text="False: skip ids that already exist.")
    dry_run = serializers.BooleanField(default=False, help_text="Report what would change; write nothing.")


class ProviderImportOutputSerializer(serializers.Serializer):
    created = serializers.ListField(child=serializers.CharField())
    updated = serializers.ListField(child=serializers.CharField())
    skipped = serializers.ListField(child=serializers.CharField())
    removed = serializers.ListField(child=serializers.CharField())


class ProviderExportInputSerializer(serializers.Serializer):
    include_secrets = serializers.BooleanField(default=False)


class ProviderExportOutputSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    exported_at = serializers.DateTimeField()
    providers = serializers.ListField(child=serializers.DictField())


class ProviderRemoveOutputSerializer(serializers.Serializer):
    removed = serializers.CharField()


_IMPORT_FLAGS = ("replace", "overwrite", "dry_run")


class ProviderViewSet(viewsets.GenericViewSet):
    """The provider registry: reads for any authenticated user; writes and export for staff."""

    lookup_value_regex = f"(?!(?:{'|'.join(sorted(RESERVED_PROVIDER_IDS))})$){_ID_PATTERN}"
    serializer_class = ProviderOutputSerializer
    _READ_ACTIONS = frozenset({"list", "retrieve", "templates"})

    def get_permissions(self):
        return [IsAuthenticated()] if self.action in self._READ_ACTIONS else [IsAdminUser()]

    @extend_schema(responses={200: ProviderOutputSerializer(many=True)})
    def list(self, request):
        """Registry entries by priority, then id (paginated: limit, offset)."""
        page = self.paginate_queryset(provider_list())
        return self.get_paginated_response(ProviderOutputSerializer(page, many=True).data)

    @extend_schema(responses=ProviderOutputSerializer)
    def retrieve(self, request, pk):
        """One registry entry."""
        return Response(ProviderOutputSerializer(provider_get(provider_id=pk)).data)

    @extend_schema(request=ProviderUpdateInputSerializer,
                   responses=ProviderOutputSerializer)
    def partial_update(self, request, pk):
        """Partial update: meta and config merge over the stored values; omit a credential to keep it, send
        null to clear it."""
        serializer = ProviderUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        provider = provider_update(provider_id=pk, changes=serializer.validated_data)
        return Response(ProviderOutputSerializer(provider).data)

    @extend_schema(responses={200: TemplateOutputSerializer(many=True)})
    @action(detail=False, methods=["get"], url_path="templates", pagination_class=None)
    def templates(self, request):
        """The curated templates, each with its config JSON Schema (`auth_schema`) and meta defaults."""
        return Response(TemplateOutputSerializer(template_list(), many=True).data)

    @extend_schema(request=ProviderCreateInputSerializer,
                   responses={201: ProviderOutputSerializer, 409: ErrorOutputSerializer})
    @action(detail=False, methods=["post"], url_path="create", url_name="create")
    def create_from_template(self, request):
        """Instantiate a provider from a curated template (201); unknown template or bad config 400, id taken 409."""
        serializer = ProviderCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        provider = provider_create(provider_id=data.pop("id", None), **data)
        return Response(ProviderOutputSerializer(provider).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProviderRegisterInputSerializer,
                   responses={200: ProviderOutputSerializer, 201: ProviderOutputSerializer})
    @action(detail=False, methods=["post"], url_path="register")
    def register(self, request):
        """Create (201) or update (200) a provider from a full definition; omitted credentials are kept."""
        serializer = ProviderRegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        provider, created = provider_register(definition=serializer.validated_data)
        return Response(ProviderOutputSerializer(provider).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=ProviderImportInputSerializer,
                   parameters=[OpenApiParameter(flag, bool, description="May also be given in the body.")
                               for flag in _IMPORT_FLAGS],
                   responses={200: ProviderImportOutputSerializer})
    @action(detail=False, methods=["post"], url_path="import", url_name="import")
    def import_(self, request):
        """Body: an export document, {providers: [...]}, or a bare list; flags in the query or the body."""
        document = {"providers": request.data} if isinstance(request.data, list) else request.data
        flags = {flag: request.query_params[flag] for flag in _IMPORT_FLAGS if flag in request.query_params}
        serializer = ProviderImportInputSerializer(data={**flags, **document} if isinstance(document, dict)
                                                   else document)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report = provider_import(entries=data["providers"], replace=data["replace"], overwrite=data["overwrite"],
                                 dry_run=data["dry_run"])
        return Response(ProviderImportOutputSerializer(asdict(report)).data)

    @extend_schema(parameters=[ProviderExportInputSerializer],
                   responses={200: ProviderExportOutputSerializer})
    @action(detail=False, methods=["get"], url_path="export")
    def export(self, request):
        """Credentials are stripped unless include_secrets=true from staff on a loopback client (or with
        COMFYVN_ALLOW_SECRET_EXPORT=1); environment references are always kept."""
        serializer = ProviderExportInputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        document = provider_export(actor=request.user, include_secrets=serializer.validated_data["include_secrets"],
                                   from_loopback=client_is_loopback(request))
        return Response(ProviderExportOutputSerializer(document).data, headers={"Cache-Control": "no-store"})

    @extend_schema(responses={200: ProviderRemoveOutputSerializer, 409: ErrorOutputSerializer})
    @action(detail=False, methods=["delete"], url_path=f"remove/(?P<pk>{_ID_PATTERN})", url_name="remove")
    def remove(self, request, pk):
        """Delete a registry entry; the built-in `local` provider is refused with 409 provider_protected."""
        provider_remove(provider_id=pk)
        return Response(ProviderRemoveOutputSerializer({"removed": pk}).data)
