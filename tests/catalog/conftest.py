"""Fixtures for the catalog tests: the shared SkyPilot snapshot (read in place, never copied) and its import."""
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings

from catalog.importers import catalog_text
from catalog.services import offer_catalog_import
from tests.factories import ProviderFactory

# provider id -> file in the snapshot (shared/catalogs/skypilot/SOURCE.md)
CATALOG_FILES = {
    "lambda": "v8/lambda/vms.csv",
    "vast": "v8/vast/vms.csv",
    "paperspace": "v6/paperspace/vms.csv",
    "runpod": "v7/runpod/vms.csv",
    "azure": "v6/azure/vms.csv",
}
FETCHED_AT = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)


def catalog_dir() -> Path:
    """COMFYVN_CATALOG_DIR, or the snapshot beside the repository (<repo>/../shared/catalogs/skypilot)."""
    path = Path(os.environ.get("COMFYVN_CATALOG_DIR") or Path(settings.BASE_DIR).parent / "shared/catalogs/skypilot")
    if not (path / CATALOG_FILES["lambda"]).is_file():
        pytest.fail(f"The SkyPilot catalog snapshot is not at {path}; set COMFYVN_CATALOG_DIR.")
    return path


@pytest.fixture
def catalog_path():
    return catalog_dir()


def import_file(provider, relative: str, **kwargs):
    data = (catalog_dir() / relative).read_bytes()
    kwargs.setdefault("fetched_at", FETCHED_AT)
    return offer_catalog_import(provider=provider, file=catalog_text(data), source_version="snapshot", **kwargs)


@pytest.fixture
def catalog_providers(db):
    return {pid: ProviderFactory(id=pid, name=pid.title(), service=pid) for pid in CATALOG_FILES}


@pytest.fixture
def imported_catalogs(catalog_providers):
    """Every shared catalog imported, one provider per file (about 2,600 GPU offers)."""
    return {pid: import_file(catalog_providers[pid], rel) for pid, rel in CATALOG_FILES.items()}
