"""The canonical GPU table and its normaliser, checked against the catalog's own common tables."""
import csv

import pytest

from catalog.gpus import gpu_canonical, gpu_is_excluded, gpu_specs
from tests.catalog.conftest import catalog_dir

# Sizes in metadata.csv that vendor datasheets contradict (peers.md 3.3 item 4); gpus.json notes each source.
CORRECTED = {"B200": 180, "H200": 141, "H200-SXM": 141, "GH200": 96, "H100-NVL": 94}


@pytest.mark.parametrize("spelling, name", [
    ("A100-80GB", "A100-80GB"), ("a100 80gb", "A100-80GB"), ("RTX6000Ada", "RTX6000-Ada"),
    ("rtx 6000 ada", "RTX6000-Ada"), ("A100-40GB", "A100"), ("rtx4090", "RTX4090"),
])
def test_gpu_canonical_ignores_spelling(spelling, name):
    assert gpu_canonical(spelling).name == name


def test_gpu_canonical_unknown_name_is_none():
    assert gpu_canonical("RTX9090") is None


def test_gpu_table_matches_metadata_csv_except_documented_corrections():
    with open(catalog_dir() / "v7/common/metadata.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 46
    for row in rows:
        spec = gpu_canonical(row["GPU"])
        assert spec.name == row["GPU"] and spec.vendor == row["Manufacturer"]
        assert spec.vram_gb == CORRECTED.get(row["GPU"], int(row["MemoryGB"])), row


def test_gpu_table_covers_every_accelerator_the_catalog_names():
    with open(catalog_dir() / "v8/common/accelerators.csv", newline="") as fh:
        names = [row["AcceleratorName"] for row in csv.DictReader(fh)]
    assert len(names) == 60
    assert [n for n in names if gpu_canonical(n) is None and not gpu_is_excluded(n)] == []
    assert {n for n in names if gpu_is_excluded(n)} == {n for n in names if n.startswith("tpu-")}


def test_gpu_specs_lists_each_gpu_once():
    specs = gpu_specs()
    assert len(specs) == len({s.name for s in specs}) == 57
    assert all(s.vram_gb > 0 and s.vendor in {"nvidia", "amd", "intel"} for s in specs)
