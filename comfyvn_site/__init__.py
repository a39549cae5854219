"""Project package: settings, URL map, Celery app and the API error contract."""
from comfyvn_site.celery import app as celery_app

__all__ = ("celery_app",)
