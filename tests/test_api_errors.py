"""The error contract: each mapping of comfyvn_site/api.py, asserted once through a real DRF view."""
import json

import pytest
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.permissions import AllowAny
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from comfyvn_site.api import json_error_view
from comfyvn_site.exceptions import ApplicationError, Conflict, ProviderNotFound


def _raising(exc: Exception):
    class RaisingApi(APIView):
        permission_classes = [AllowAny]

        def get(self, request):
            raise exc

    return RaisingApi.as_view()


def _call(exc: Exception) -> tuple[int, dict]:
    response = _raising(exc)(APIRequestFactory().get("/api/x"))
    response.render()
    return response.status_code, response.data


@pytest.mark.parametrize(("exc", "status", "body"), [
    (ProviderNotFound("No provider with id 'x'.", extra={"id": "x"}), 404,
     {"code": "provider_not_found", "message": "No provider with id 'x'.", "extra": {"id": "x"}}),
    (ApplicationError("Custom.", code="custom", status=418), 418,
     {"code": "custom", "message": "Custom.", "extra": {}}),
    (Conflict("Taken."), 409, {"code": "conflict", "message": "Taken.", "extra": {}}),
    (DjangoValidationError({"base_url": ["must use https"]}), 400,
     {"code": "invalid", "message": "base_url: must use https", "extra": {"fields": {"base_url": ["must use https"]}}}),
    (DjangoValidationError("Whole object is wrong."), 400,
     {"code": "invalid", "message": "Whole object is wrong.",
      "extra": {"fields": {"non_field_errors": ["Whole object is wrong."]}}}),
    (drf_exceptions.ValidationError({"priority": ["A valid integer is required."]}), 400,
     {"code": "invalid", "message": "priority: A valid integer is required.",
      "extra": {"fields": {"priority": ["A valid integer is required."]}}}),
    (Http404("gone"), 404, {"code": "not_found", "message": "Not found.", "extra": {}}),
    (PermissionDenied(), 403, {"code": "permission_denied",
                               "message": "You do not have permission to perform this action.", "extra": {}}),
    (drf_exceptions.NotAuthenticated(), 401, {"code": "not_authenticated",
                                              "message": "Authentication credentials were not provided.",
                                              "extra": {}}),
    (drf_exceptions.Throttled(wait=30), 429, {"code": "throttled",
                                              "message": "Request was throttled. Expected available in 30 seconds.",
                                              "extra": {}}),
])
def test_each_mapping(exc, status, body):
    assert _call(exc) == (status, body)


def test_protected_error_is_409_listing_blockers():
    status, body = _call(ProtectedError("blocked", {"job b", "job a"}))
    assert status == 409 and body == {"code": "protected", "message": "The object is still referenced.",
                                      "extra": {"blocking": ["job a", "job b"]}}


def test_unknown_exception_stays_a_reported_500():
    with pytest.raises(ZeroDivisionError):
        _call(ZeroDivisionError())


def test_handler_views_render_the_contract():
    response = json_error_view(500, "server_error", "Internal server error; it has been logged.")(None)
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"code": "server_error",
                                            "message": "Internal server error; it has been logged.", "extra": {}}
