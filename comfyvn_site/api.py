"""The one API error contract: every error body is {"code", "message", "extra"}."""
import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from django.http import Http404, JsonResponse
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from comfyvn_site.exceptions import ApplicationError

logger = logging.getLogger(__name__)


@extend_schema_serializer(component_name="Error")
class ErrorOutputSerializer(serializers.Serializer):
    """The shape of every API error, for the OpenAPI schema (one component, `Error`, with the hook below)."""

    code = serializers.CharField(help_text="Stable machine-readable error code.")
    message = serializers.CharField(help_text="What went wrong, for a human.")
    extra = serializers.DictField(help_text="Details: field errors under `fields`, import errors under `errors`.")


def _body(code: str, message: str, extra: dict | None = None) -> dict:
    return {"code": code, "message": message, "extra": extra or {}}


def _first_message(detail) -> str:
    """A readable one-line message from DRF's nested error detail."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = _first_message(value)
            return inner if key in ("non_field_errors", "detail") else f"{key}: {inner}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(exc, context):
    """Map every known failure to its status and the shared body; anything else stays a reported 500."""
    if isinstance(exc, ApplicationError):
        return Response(_body(exc.code, exc.message, exc.extra), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        fields = as_serializer_error(exc)
        return Response(_body("invalid", _first_message(fields), {"fields": fields}), status=400)
    if isinstance(exc, ProtectedError):
        blocking = sorted({str(obj) for obj in exc.protected_objects})[:50]
        return Response(_body("protected", "The object is still referenced.", {"blocking": blocking}), status=409)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf_exceptions.ValidationError):
        response.data = _body("invalid", _first_message(exc.detail), {"fields": exc.detail})
    else:
        detail = getattr(exc, "detail", str(exc))
        code = detail.code if hasattr(detail, "code") else getattr(exc, "default_code", "error")
        response.data = _body(str(code), str(detail))
    return response


def json_error_view(status: int, code: str, message: str):
    """Build a plain Django view returning the shared error body (for handler404/handler500)."""

    def view(request, *args, **kwargs):
        return JsonResponse(_body(code, message), status=status)

    return view


ERROR_SCHEMA = {
    "type": "object",
    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                   "extra": {"type": "object", "additionalProperties": True}},
    "required": ["code", "message", "extra"],
}
# What the shared stack itself may answer on any operation: parse/validation, auth, permission, lookup, content
# negotiation; and on operations with a body also its size and media type. App-specific errors (409, 422, 503) are
# documented by each view with extend_schema.
STACK_ERRORS = {"400": "Invalid input.", "401": "Not authenticated.", "403": "Not allowed.", "404": "Not found.",
                "406": "Unacceptable Accept header."}
BODY_ERRORS = {"413": "Request body too large.", "415": "Unsupported media type."}


def error_responses_postprocess(result, generator, request, public):
    """drf-spectacular hook: document the error contract on every operation, so clients and the fuzzing gate know
    each error status and its body."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            errors = STACK_ERRORS | (BODY_ERRORS if "requestBody" in operation else {})
            responses = operation.setdefault("responses", {})
            for status, description in errors.items():
                responses.setdefault(status, {"description": description, "content": reference})
    return result
