"""Startup checks: a missing, malformed or wrong credential key stops the service loudly."""
import importlib

import pytest
from cryptography.fernet import Fernet
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from comfyvn_site.startup import startup_checks_enforce
from providers.services import provider_create

pytestmark = pytest.mark.django_db


def _ids(errors) -> list[str]:
    return [error.id for error in errors]


@pytest.mark.parametrize("keys", [[], ["not-a-fernet-key"]])
def test_missing_or_malformed_key_is_an_error(settings, keys):
    settings.COMFYVN_SECRETS_KEYS = keys
    assert "providers.E001" in _ids(checks.run_checks(tags=[checks.Tags.security]))


def test_wrong_key_fails_the_canary_and_startup(templates, settings):
    original = settings.COMFYVN_SECRETS_KEYS[0]
    provider_create(template_id="runpod", provider_id="rp", config={"api_key": "sk-canary"})
    assert _ids(checks.run_checks(tags=[checks.Tags.database], databases=["default"])) == []
    settings.COMFYVN_SECRETS_KEYS = [Fernet.generate_key().decode()]
    errors = checks.run_checks(tags=[checks.Tags.database], databases=["default"])
    assert _ids(errors) == ["providers.E002"] and "(rp)" in errors[0].msg and "sk-canary" not in errors[0].msg
    with pytest.raises(ImproperlyConfigured, match="providers.E002"):
        startup_checks_enforce()
    with pytest.raises(SystemCheckError):
        call_command("check", "--database", "default")
    with pytest.raises(ImproperlyConfigured):
        importlib.reload(importlib.import_module("comfyvn_site.wsgi"))
    settings.COMFYVN_SECRETS_KEYS = [Fernet.generate_key().decode(), original]  # rotation: new first, old kept
    startup_checks_enforce()
