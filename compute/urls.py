"""URL map of the compute app."""
app_name = "compute"
urlpatterns: list = []
