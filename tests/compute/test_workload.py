"""Workload parsing: upstream aliases, precedence, defaults and field-path errors (no database)."""
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from compute.types import BudgetMode
from compute.workload import advice_query_parse, advice_request_parse, workload_parse


@pytest.mark.parametrize(("raw", "field", "expected"), [
    ({"type": "CG_Batch "}, "workload_type", "cg_batch"),
    ({"requirements": {"type": "tts"}, "type": "cg"}, "workload_type", "tts"),
    ({"requirements": {"min_vram": 10}}, "min_vram_gb", 10.0),
    ({"requirements": {"min_vram_gb": 0, "min_vram": 10}}, "min_vram_gb", 0.0),
    ({"estimated_minutes": 12}, "estimated_minutes", Decimal(12)),
    ({"estimate": {"duration_minutes": 7.5}}, "estimated_minutes", Decimal("7.5")),
    ({"requirements": {"estimated_minutes": 0}, "estimated_minutes": 50}, "estimated_minutes", Decimal(0)),
    ({"estimated_minutes": -0.0}, "estimated_minutes", Decimal(0)),
    ({"budget": {"mode": "frugal"}}, "budget_mode", BudgetMode.COST_SAVER),
    ({"budget": {"mode": "Premium"}}, "budget_mode", BudgetMode.SPEED),
    ({}, "budget_mode", BudgetMode.BALANCED),
    ({"budget": {"limit_usd": 0}}, "budget_limit_usd", Decimal(0)),
    ({"translation": {"requires_gpu": True}}, "translation_requires_gpu", True),
    ({"pipeline": {"translation": {"requires_gpu": False}}, "translation": {"requires_gpu": True}},
     "translation_requires_gpu", False),
    ({"cache": None, "comfyui": None, "budget": None}, "cache_requires_persistent", False),
    ({"residency": {"regions": ["EU", " on-prem "]}}, "residency_regions", ("eu", "on-prem")),
    ({"residency": {}}, "residency_regions", None),
])
def test_fields_and_aliases(raw, field, expected):
    assert getattr(workload_parse(raw), field) == expected


def test_asset_sizes_and_workflow_sources():
    spec = workload_parse({
        "assets": [{"size_mb": 10}, {"size_bytes": 1048576 * 3}, {"size_kb": 2048}, {"name": "empty"}],
        "asset_summary": {"items": [{"size_mb": 1, "cached": True}]},
        "workflows": [{"id": 7, "status": "cached"}, {"requires_persistent_storage": True}],
        "comfyui": {"workflows": [{"cached": False}], "cached_workflows": [{"id": "c"}]},
        "unknown": {"ignored": True},
    })
    assert [a.size_mb for a in spec.assets] == [10, 3, 2, 0, 1] and spec.assets[-1].cached
    assert [(w.id, w.cached, w.persist_outputs) for w in spec.workflows] == [
        ("7", True, False), ("", False, True), ("", False, False), ("c", True, False)]


def test_every_problem_is_reported_at_once():
    with pytest.raises(ValidationError) as error:
        workload_parse({"requirements": {"type": 1, "min_vram_gb": -1}, "budget": {"mode": "x", "limit_usd": "1"},
                        "assets": [{"size_mb": float("inf")}], "residency": {"regions": "eu"}})
    assert set(error.value.message_dict) == {"requirements.type", "requirements.min_vram_gb", "budget.mode",
                                             "budget.limit_usd", "assets[0].size_mb", "residency.regions"}


def test_request_envelope_and_bare_workload():
    enveloped = advice_request_parse({"workload": {"type": "tts"}, "prefer_remote": True, "source": "importer"})
    bare = advice_request_parse({"type": "tts", "dry_run": True})
    assert (enveloped.workload.workload_type, enveloped.prefer_remote, enveloped.source) == ("tts", True, "importer")
    assert (bare.workload.workload_type, bare.dry_run, bare.source) == ("tts", True, "api")
    assert advice_request_parse(None).workload == workload_parse({})


@pytest.mark.parametrize(("params", "workload_type", "floor", "size"), [
    ({}, "render", 8, 0),
    ({"task": "img", "size": "3GB"}, "render", 16, 3072),
    ({"task": "img", "size": "4096"}, "render", 24, 4096),
    ({"task": "tts"}, "tts", 12, 0),
    ({"task": "export", "size": "2gb"}, "export", 8, 2048),
    ({"task": "dialogue_authoring"}, "dialogue_authoring", 0, 0),
])
def test_query_parameters_follow_upstream_table(params, workload_type, floor, size):
    parsed = advice_query_parse(params)
    assert parsed.dry_run is True
    assert (parsed.workload.workload_type, parsed.workload.min_vram_gb) == (workload_type, floor)
    assert sum(a.size_mb for a in parsed.workload.assets) == size


def test_a_residency_rule_names_at_most_256_regions():
    """Every rejection's message names the allowed regions: 10,000 of them made a 100 KB request a 47 MB answer."""
    assert len(workload_parse({"residency": {"regions": [f"r{i}" for i in range(256)]}}).residency_regions) == 256
    with pytest.raises(ValidationError) as error:
        workload_parse({"residency": {"regions": [f"r{i}" for i in range(257)]}})
    assert error.value.message_dict == {"residency.regions": ["Must have at most 256 items."]}
