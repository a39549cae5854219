"""WSGI entry point (gunicorn comfyvn_site.wsgi)."""
import os

from django.core.wsgi import get_wsgi_application

from comfyvn_site.startup import startup_checks_enforce

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comfyvn_site.settings.base")
application = get_wsgi_application()
# A wrong credential key stops the service here instead of failing every credential later.
startup_checks_enforce()
