"""URL map of the gpu app."""
app_name = "gpu"
urlpatterns: list = []
