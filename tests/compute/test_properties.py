"""Properties: any valid workload gets a deterministic, in-budget answer; any malformed one a 400, never a 500."""
import math
from decimal import Decimal

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compute.advisor import advise
from compute.types import Choice, Health
from compute.workload import workload_parse
from tests.compute.conftest import TEMPLATE_META, make_candidate, template_candidate

REMOTE_TEMPLATES = sorted(t for t, spec in TEMPLATE_META.items() if spec["kind"] == "remote")
TYPES = ["cg_batch", "cg", "render", "animation", "voice_synthesis", "tts", "translation", "dialogue_authoring"]

minutes = st.one_of(st.integers(0, 5000), st.floats(0, 5000, allow_nan=False))
sizes = st.one_of(st.integers(0, 10_000), st.floats(0, 10_000, allow_nan=False))
money = st.one_of(st.integers(0, 50), st.decimals(0, 50, places=2).map(float))
flag = st.booleans()


def _optional(**fields):
    return st.fixed_dictionaries({}, optional=fields)


def _text(max_size: int):
    """Text a valid workload may hold: the API refuses NUL and unpaired surrogates anywhere in a body (PostgreSQL
    cannot store them; tests/test_parsers.py)."""
    return st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=max_size)


def _any_text(max_size: int):
    """Any text a client can send as UTF-8 JSON (a lone surrogate cannot be encoded by the test client itself)."""
    return st.text(st.characters(exclude_categories=("Cs",)), max_size=max_size)


valid_workloads = _optional(
    requirements=_optional(type=st.sampled_from(TYPES) | _text(max_size=12),
                           min_vram_gb=st.none() | st.integers(0, 96) | st.floats(0, 96, allow_nan=False),
                           estimated_minutes=minutes),
    type=st.sampled_from(TYPES),
    estimated_minutes=minutes,
    estimate=_optional(duration_minutes=minutes),
    assets=st.lists(_optional(name=_text(max_size=8), size_mb=sizes, size_bytes=st.integers(0, 10**10),
                              size_kb=sizes, cached=flag), max_size=4),
    workflows=st.lists(_optional(id=_text(max_size=5), cached=flag, persist_outputs=flag,
                                 status=st.sampled_from(["cached", "new"])), max_size=3),
    comfyui=_optional(workflows=st.lists(_optional(cached=flag), max_size=2),
                      cached_workflows=st.lists(_optional(id=_text(max_size=3)), max_size=2)),
    budget=_optional(limit_usd=money, mode=st.sampled_from(["cost_saver", "balanced", "speed", "frugal", "PREMIUM"])),
    pipeline=_optional(translation=_optional(requires_gpu=flag)),
    cache=_optional(requires_persistent=flag),
    residency=_optional(regions=st.lists(st.sampled_from(["eu", "us", "us-west", "on-prem", "global", "ams"]),
                                         max_size=3)),
    requires_gpu=flag,
    unknown_key=_text(max_size=5),
)

candidate_sets = st.lists(
    st.one_of(
        st.builds(lambda t, h, a: template_candidate(t, health=h, active=a),
                  st.sampled_from(REMOTE_TEMPLATES), st.sampled_from(list(Health)), st.booleans()),
        st.builds(lambda i, hourly, inc, vram, h: make_candidate(f"x{i}", hourly=str(hourly), increment=str(inc),
                                                                  vram=vram, health=h),
                  st.integers(0, 5), st.decimals(0, 5, places=2), st.sampled_from([0, 1, 15, 60]),
                  st.none() | st.integers(4, 96), st.sampled_from(list(Health)))),
    max_size=8, unique_by=lambda c: c.provider.id)


@settings(max_examples=300, deadline=None)
@given(raw=valid_workloads, candidates=candidate_sets, prefer_remote=flag, hardware_override=flag)
def test_valid_workloads_get_a_deterministic_answer_within_budget(raw, candidates, prefer_remote, hardware_override):
    workload = workload_parse(raw)
    flags = {"prefer_remote": prefer_remote, "hardware_override": hardware_override}
    advice = advise(workload, candidates, [], **flags)
    assert advise(workload, candidates[::-1], [], **flags) == advice
    assert advise(workload_parse(raw), list(candidates), [], **flags) == advice

    limit = workload.budget_limit_usd
    ranked = [c for c in (advice.remote_candidate, *advice.alternatives) if c]
    if advice.choice == Choice.REMOTE:
        assert advice.remote_candidate is not None
        assert limit is None or advice.remote_candidate.cost.estimated_cost_usd <= limit
    if advice.remote_candidate is not None and limit is not None:
        assert all(c.cost.estimated_cost_usd <= limit for c in ranked)
    assert all(math.isfinite(c.score.total) for c in ranked)
    keys = [(c.score.deprioritised_unhealthy, c.score.total) for c in ranked]
    assert keys == sorted(keys)
    assert len(advice.rejected) + (len(ranked) if advice.remote_candidate else 0) <= len(candidates)
    assert all(r.codes and r.code == r.codes[0] for r in advice.rejected)
    assert all(c.cost.estimated_cost_usd == c.cost.estimated_cost_usd.quantize(Decimal("0.01")) for c in ranked)
    assert advice.reason


# --- the API never answers a bad body with a 500 ---------------------------------------------------------------------

KNOWN_KEYS = ["workload", "requirements", "type", "min_vram_gb", "min_vram", "estimated_minutes", "estimate",
              "duration_minutes", "assets", "size_mb", "size_bytes", "size_kb", "workflows", "cached",
              "persist_outputs", "budget", "limit_usd", "mode", "pipeline", "translation", "requires_gpu", "cache",
              "requires_persistent", "comfyui", "residency", "regions", "prefer_remote", "dry_run", "source", "id"]
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
keys = st.sampled_from(KNOWN_KEYS) | _any_text(max_size=4)
json_values = st.recursive(
    scalars | _any_text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=4),
    max_leaves=25)

# A valid workload plus one corruption at a known path: (path, value).
CORRUPTIONS = st.sampled_from([
    (("requirements", "min_vram_gb"), "24"), (("requirements", "estimated_minutes"), -1),
    (("requirements", "estimated_minutes"), 1e30), (("budget", "mode"), "cheapest"), (("budget", "limit_usd"), -0.01),
    (("budget", "limit_usd"), [1]), (("pipeline", "translation"), "gpu"), (("cache",), ["x"]),
    (("residency", "regions"), "eu"), (("assets",), {"size_mb": 1}), (("requires_gpu",), 1),
    (("estimate", "duration_minutes"), True), (("requirements", "type"), 7),
])


@pytest.mark.django_db
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values)
def test_arbitrary_json_bodies_never_cause_a_500(user_client, body):
    response = user_client.post(reverse("compute:advise"), {"workload": body, "dry_run": True}, format="json")
    assert response.status_code in (200, 400), response.content
    bare = user_client.post(reverse("compute:advise"), body, format="json")
    assert bare.status_code in (200, 400), bare.content


@pytest.mark.django_db
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=valid_workloads, corruption=CORRUPTIONS)
def test_malformed_workloads_are_400_naming_the_path(user_client, raw, corruption):
    path, value = corruption
    body = dict(raw)
    target = body
    for key in path[:-1]:
        target[key] = dict(target[key]) if isinstance(target.get(key), dict) else {}
        target = target[key]
    target[path[-1]] = value
    if path[:1] == ("requirements",) and path[-1] == "min_vram_gb":
        target.pop("min_vram", None)
    response = user_client.post(reverse("compute:advise"), {"workload": body, "dry_run": True}, format="json")
    assert response.status_code == 400, response.content
    assert "workload." + ".".join(path) in response.json()["extra"]["fields"]
