"""Selectors: read-only queries over health-check history."""
from django.db.models import QuerySet

from health.models import HealthCheck
from providers.models import Provider
from providers.selectors import provider_get


def health_check_list(*, provider_id: str) -> QuerySet[HealthCheck]:
    """A provider's checks, newest first (the view paginates); raises ProviderNotFound for an unknown id."""
    provider_get(provider_id=provider_id, queryset=Provider.objects.only("id"))
    return HealthCheck.objects.filter(provider_id=provider_id).order_by("-checked_at", "-id")
