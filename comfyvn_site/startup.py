"""Checks that must pass before the application serves a request.

Django runs `database`-tagged system checks only on `migrate` and `check --database`; runserver and gunicorn
skip them. The WSGI and ASGI entry points call this so a wrong credential key stops the service at start.
"""
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


def startup_checks_enforce(*, databases: tuple[str, ...] = ("default",)) -> None:
    errors = [error for error in checks.run_checks(tags=[checks.Tags.database], databases=list(databases))
              if error.is_serious()]
    if errors:
        raise ImproperlyConfigured("Refusing to start:\n" + "\n".join(str(error) for error in errors))
