"""manage.py import_catalog: prints counts and reasons, is idempotent, and fails clearly on bad input."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Offer
from tests.catalog.conftest import CATALOG_FILES, catalog_dir


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("import_catalog", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_catalog_imports_then_changes_nothing(catalog_providers):
    path = str(catalog_dir() / CATALOG_FILES["runpod"])
    out, err = run("--format", "skypilot", "--provider", "runpod", path)
    assert "runpod: 2750 rows read, 1986 created, 0 updated, 0 unchanged, 764 skipped" in out
    assert "skipped duplicate: 14 (lines 1838" in out and "skipped cpu_only: 750" in out
    assert "writing    [##############################] 1986/1986" in err
    out, _ = run("--provider", "runpod", path)
    assert "0 created, 0 updated, 1986 unchanged" in out
    assert Offer.objects.filter(provider_id="runpod").count() == 1986


def test_import_catalog_dry_run_writes_nothing(catalog_providers):
    out, _ = run("--provider", "vast", "--dry-run", "--source-version", "v8@01b8cdd",
                 str(catalog_dir() / CATALOG_FILES["vast"]))
    assert out.startswith("[dry run] vast: 67 rows read, 67 created") and "v8@01b8cdd" in out
    assert "note vram_below_table: 1 (line 65)" in out
    assert not Offer.objects.exists()


def test_import_catalog_fails_clearly(catalog_providers, tmp_path):
    bad = tmp_path / "vms.csv"
    bad.write_text("InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,Price,Region\n"
                   "gpu_1x,A10,1,8,32,1.0,us-east-1\ngpu_2x,A10,x,8,32,1.0,us-east-1\n")
    with pytest.raises(CommandError, match=r"Line 3: AcceleratorCount 'x'.*Nothing was imported"):
        run("--provider", "lambda", str(bad))
    with pytest.raises(CommandError, match="No provider 'nobody'"):
        run("--provider", "nobody", str(bad))
    with pytest.raises(CommandError, match="Cannot read"):
        run("--provider", "lambda", str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError, match="--fetched-at"):
        run("--provider", "lambda", "--fetched-at", "yesterday", str(bad))
    assert not Offer.objects.exists()
