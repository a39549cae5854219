from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "providers"
    verbose_name = "Provider registry"

    def ready(self) -> None:
        from providers import checks  # noqa: F401  (registers the secrets-key startup check)
