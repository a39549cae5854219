"""URL map of the provider registry API (/api/providers/...)."""
app_name = "providers"
urlpatterns: list = []
