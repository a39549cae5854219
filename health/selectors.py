"""Selectors: read-only queries over health-check history."""
from django.db.models import QuerySet

from comfyvn_site.exceptions import ProviderNotFound
from health.models import HealthCheck
from providers.models import Provider


def health_check_list(*, provider_id: str) -> QuerySet[HealthCheck]:
    """A provider's checks, newest first (the view paginates); raises ProviderNotFound for an unknown id."""
    if not Provider.objects.filter(pk=provider_id).exists():
        raise ProviderNotFound(f"Provider '{provider_id}' does not exist.")
    return HealthCheck.objects.filter(provider_id=provider_id).order_by("-checked_at", "-id")
