"""The one environment reader, plus a helper that names a missing mandatory variable."""
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# `make setup` writes .env with generated keys on first run; real environment variables win over it.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def env_required(name: str) -> str:
    """Return a mandatory variable or fail naming it (Zulip's get_mandatory_secret)."""
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"Set the environment variable {name} (see .env.example).")
    return value
