"""Guard: models and committed migrations never drift apart."""
from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_models_match_migrations():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=StringIO())
    except SystemExit as exc:  # makemigrations --check exits 1 when a migration is missing
        pytest.fail(f"models changed without a migration:\n{out.getvalue()}  (exit {exc.code})")
