from django.apps import AppConfig


class GpuConfig(AppConfig):
    name = "gpu"
    verbose_name = "GPU inventory"
