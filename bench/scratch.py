"""A throwaway test database for in-process benchmarks: created on DATABASE_URL's server (or SQLite), seeded with
the curated templates, dropped afterwards, so a benchmark never touches real data."""
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.test.utils import setup_test_environment

from providers.services import provider_template_specs_load, provider_template_sync


@contextmanager
def throwaway_database() -> Iterator[None]:
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        provider_template_sync(specs=provider_template_specs_load())
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
