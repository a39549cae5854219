"""Test settings: base with speed and isolation overrides only."""
import os

from cryptography.fernet import Fernet

os.environ.setdefault("SECRET_KEY", "test-" + "k3y-for-the-test-suite-only-never-deployed-" * 2)
os.environ.setdefault("COMFYVN_SECRETS_KEY", Fernet.generate_key().decode())
os.environ.setdefault("CELERY_BROKER_URL", "memory://")

from comfyvn_site.settings.base import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not the shared-cache in-memory database: its table locks ignore the busy timeout, so the threaded
    # sweep and idempotency tests would fail on the embedded default for a reason production never meets.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / "test-db.sqlite3")}  # noqa: F405
