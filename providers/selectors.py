"""Selectors: read-only queries over the registry and the curated templates; no writes."""
from django.db.models import QuerySet

from comfyvn_site.exceptions import ProviderNotFound
from providers.models import Provider, ProviderTemplate


def provider_list(*, active: bool | None = None) -> QuerySet[Provider]:
    """Registry entries by priority, then id; one query, whatever the caller slices."""
    providers = Provider.objects.order_by("priority", "id")
    if active is not None:
        providers = providers.filter(active=active)
    return providers


def provider_get(*, provider_id: str, queryset: QuerySet[Provider] | None = None) -> Provider:
    """One provider, or ProviderNotFound (404); `queryset` narrows the read (row lock, fewer columns)."""
    provider = (Provider.objects.all() if queryset is None else queryset).filter(id=provider_id).first()
    if provider is None:
        raise ProviderNotFound(f"No provider with id '{provider_id}'.", extra={"id": provider_id})
    return provider


def template_list() -> QuerySet[ProviderTemplate]:
    """The curated templates by priority, then id."""
    return ProviderTemplate.objects.order_by("priority", "id")
