"""Startup checks: the credential key must exist, be a valid Fernet key, and decrypt what is stored.

A key that is valid but wrong (not the one the stored credentials were encrypted with) is caught by the
canary below, tagged `database`: it runs on `migrate`, on `manage.py check --database default`, and before
the WSGI/ASGI application serves (comfyvn_site/startup.py), so the service refuses to start rather than fail
every credential later (reliability.md finding 8, K06).
"""
from django.core import checks
from django.db import DatabaseError

from comfyvn_site.exceptions import SecretsKeyError


@checks.register(checks.Tags.security, deploy=False)
def secrets_key_check(app_configs, **kwargs):
    from providers.secrets import fernet

    try:
        fernet()
    except SecretsKeyError as exc:
        return [checks.Error(str(exc), id="providers.E001")]
    return []


@checks.register(checks.Tags.database)
def secrets_canary_check(app_configs, databases=None, **kwargs):
    """Decrypt every stored credential blob with the configured keys; name the providers that fail."""
    from providers.models import Provider
    from providers.secrets import decrypt_secrets

    errors = []
    for alias in databases or ():
        try:
            stored = list(Provider.objects.using(alias).exclude(secrets_ciphertext="")
                          .order_by("id").values_list("id", "secrets_ciphertext"))
        except DatabaseError:
            continue  # not migrated yet, so nothing is stored; `migrate` runs this check again afterwards
        unreadable = []
        for provider_id, ciphertext in stored:
            try:
                decrypt_secrets(ciphertext)
            except SecretsKeyError:
                unreadable.append(provider_id)
        if unreadable:
            errors.append(checks.Error(
                f"Stored credentials of {len(unreadable)} provider(s) ({', '.join(unreadable[:5])}) cannot be "
                f"decrypted with COMFYVN_SECRETS_KEY: the key is wrong or was rotated without keeping the old one.",
                hint="Restore the previous key, or list the new key first and the old one after it "
                     "(COMFYVN_SECRETS_KEY=new,old).",
                id="providers.E002"))
    return errors
