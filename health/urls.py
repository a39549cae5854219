"""URL map of the health app (mounted under /api/providers/)."""
from django.urls import path

from health.apis import ProviderHealthApi

app_name = "health"
urlpatterns = [
    path("<slug:provider_id>/health", ProviderHealthApi.as_view(), name="provider-health"),
]
