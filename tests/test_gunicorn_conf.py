"""gunicorn.conf.py: the app is preloaded, and the master drops its database connection and freezes the GC heap
before the workers fork."""
import gc
import runpy

import pytest
from django.conf import settings
from django.db import connection


@pytest.mark.django_db(transaction=True)
def test_when_ready_closes_the_masters_connection_and_freezes_the_heap():
    config = runpy.run_path(str(settings.BASE_DIR / "gunicorn.conf.py"))
    assert config["preload_app"] is True
    connection.ensure_connection()
    try:
        config["when_ready"](server=None)
        assert connection.connection is None and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
