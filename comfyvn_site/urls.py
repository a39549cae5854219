"""The one explicit URL map (upstream silently dropped whole routers on path collisions)."""
from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from comfyvn_site.api import json_error_view
from comfyvn_site.apis import PingApi


def healthz(request):
    """Public liveness probe; carries no data."""
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/ping", PingApi.as_view(), name="ping"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The Swagger UI page is a data-free HTML shell; the schema it loads needs an authenticated session.
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[AllowAny]), name="docs"),
    path("api/providers/", include("providers.urls")),
    path("api/providers/", include("health.urls")),
    path("api/gpu/", include("gpu.urls")),
    path("api/", include("catalog.urls")),
    path("", include("compute.urls")),
]

handler404 = json_error_view(404, "not_found", "No such endpoint.")
handler500 = json_error_view(500, "server_error", "Internal server error; it has been logged.")
