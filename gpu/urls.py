"""URL map of the gpu app."""
from django.urls import path

from gpu.apis import GpuListApi

app_name = "gpu"
urlpatterns = [
    path("list", GpuListApi.as_view(), name="list"),
]
