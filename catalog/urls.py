"""URL map of the catalog app (mounted at /api/)."""
from django.urls import path

from catalog.apis import GpuListApi, OfferCatalogImportApi, OfferListApi

app_name = "catalog"
urlpatterns = [
    path("offers/", OfferListApi.as_view(), name="offer-list"),
    path("gpus/", GpuListApi.as_view(), name="gpu-list"),
    path("providers/<slug:provider_id>/offers/import", OfferCatalogImportApi.as_view(), name="offer-import"),
]
