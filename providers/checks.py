"""Startup checks: the credential key must exist and be a valid Fernet key before the service runs."""
from django.core import checks

from comfyvn_site.exceptions import SecretsKeyError


@checks.register(checks.Tags.security, deploy=False)
def secrets_key_check(app_configs, **kwargs):
    from providers.secrets import fernet

    try:
        fernet()
    except SecretsKeyError as exc:
        return [checks.Error(str(exc), id="providers.E001")]
    return []
