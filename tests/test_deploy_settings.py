"""Production settings pass Django's deployment checklist and refuse to start without a real SECRET_KEY
(reliability.md D01, D02, D03)."""
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]


def _manage(*args: str, settings: str = "production", **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": f"comfyvn_site.settings.{settings}",
                   "COMFYVN_SECRETS_KEY": Fernet.generate_key().decode(), **env}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=60)


def test_production_settings_pass_check_deploy():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", SECRET_KEY=secrets.token_urlsafe(64))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("key", ["", "short", "django-insecure-" + "x" * 60])
def test_production_refuses_a_missing_or_weak_secret_key(key):
    result = _manage("check", SECRET_KEY=key)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr


@pytest.mark.parametrize(("value", "expected"), [("False", "False"), ("0", "False"), ("", "False"), ("no", "False"),
                                               ("true", "True")])
def test_debug_parses_strictly(value, expected):
    result = _manage("shell", "-c", "from django.conf import settings; print(settings.DEBUG)", settings="base",
                     SECRET_KEY=secrets.token_urlsafe(64), DEBUG=value)
    assert result.stdout.strip().splitlines()[-1] == expected, result.stderr
