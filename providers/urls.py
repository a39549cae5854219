"""URL map of the provider registry API (/api/providers/...): list, templates, create, register, import,
export, remove/{id}, then {id} (which never matches a reserved word, so later apps' routes stay reachable)."""
from rest_framework.routers import SimpleRouter

from providers.apis import ProviderViewSet

app_name = "providers"

router = SimpleRouter(trailing_slash=False)
router.register("", ProviderViewSet, basename="provider")
urlpatterns = router.urls
