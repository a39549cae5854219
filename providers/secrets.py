"""Credentials at rest: Fernet encryption under COMFYVN_SECRETS_KEY, env references, and the schema's secret flags.

A stored secret is either a literal value (encrypted) or an environment reference {"env": "NAME"} that is
resolved only when a credential is used. A wrong key raises SecretsKeyError: ciphertext is never handed on
as a credential (the django-fernet-encrypted-fields trap in reliability.md finding 8).
"""
import json
import os
import re
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from comfyvn_site.exceptions import SecretsKeyError
from providers.validation import RESERVED_ENV_PATTERN


@cache
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise SecretsKeyError(
            "COMFYVN_SECRETS_KEY is not set. Generate one with "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`."
        )
    try:
        return MultiFernet([Fernet(key.strip().encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise SecretsKeyError("COMFYVN_SECRETS_KEY is not a valid Fernet key (32 url-safe base64 bytes).") from exc


def fernet() -> MultiFernet:
    """The MultiFernet for the configured keys: the first encrypts, every key decrypts (rotation)."""
    return _fernet_for(tuple(settings.COMFYVN_SECRETS_KEYS))


def secret_fields(schema: dict) -> frozenset[str]:
    """Names of the config properties that the template's JSON Schema marks writeOnly."""
    return frozenset(name for name, prop in (schema or {}).get("properties", {}).items() if prop.get("writeOnly"))


def encrypt_secrets(values: dict) -> str:
    """Encrypt a {field: value-or-env-reference} mapping; an empty mapping stores nothing."""
    if not values:
        return ""
    return fernet().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def decrypt_secrets(ciphertext: str) -> dict:
    """Decrypt stored credentials, failing loudly if the key cannot read them."""
    if not ciphertext:
        return {}
    try:
        return json.loads(fernet().decrypt(ciphertext.encode()))
    except InvalidToken as exc:
        raise SecretsKeyError(
            "Stored provider credentials cannot be decrypted with COMFYVN_SECRETS_KEY; "
            "restore the previous key (rotation: list the new key first, then the old one)."
        ) from exc


def is_env_reference(value) -> bool:
    return isinstance(value, dict) and set(value) == {"env"} and isinstance(value["env"], str)


def resolve_secret(value) -> str | None:
    """A usable credential: the literal, or the referenced variable's value (None when unset, or when it names one
    of the service's own settings: references stored before that was refused must not send them either)."""
    if is_env_reference(value):
        if re.match(RESERVED_ENV_PATTERN, value["env"]):
            return None
        return os.environ.get(value["env"]) or None
    return value
