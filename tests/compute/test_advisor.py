"""The pure advisor, table-driven over dataclasses: no database, no mocks."""
from decimal import Decimal

import pytest

from compute.advisor import advise, cost_estimate, region_allowed, workload_analyse
from compute.types import (
    Asset,
    BudgetMode,
    Choice,
    Health,
    RejectionCode,
    RunMode,
    WarningCode,
    Workflow,
    WorkloadSpec,
)
from tests.compute.conftest import local_gpu, make_candidate, template_candidate

D = Decimal


def spec(**fields) -> WorkloadSpec:
    if "estimated_minutes" in fields and fields["estimated_minutes"] is not None:
        fields["estimated_minutes"] = D(str(fields["estimated_minutes"]))
    if "budget_limit_usd" in fields:
        fields["budget_limit_usd"] = D(str(fields["budget_limit_usd"]))
    return WorkloadSpec(**fields)


def ids(scored) -> list[str]:
    return [s.candidate.provider.id for s in scored]


# --- cost ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("hourly", "increment", "runtime", "billed", "cost"), [
    ("0.46", "1", "3", "3", "0.02"),        # 0.023 → 0.02
    ("0.95", "60", "3", "60", "0.95"),      # a 3-minute job on hourly billing pays the hour (upstream: $0.05)
    ("0.95", "60", "61", "120", "1.90"),
    ("0.39", "60", "240", "240", "1.56"),
    ("0.30", "0", "7.5", "7.5", "0.04"),    # increment 0 → exact runtime; 0.0375 → 0.04 half-up
    ("0.60", "0", "0.5", "0.5", "0.01"),    # 0.005 rounds half-up to a cent, not to even
    ("1.00", "15", "0", "0", "0.00"),
    ("2.99", "0.5", "10.2", "10.5", "0.52"),
])
def test_cost_rounds_runtime_up_to_billing_increments_then_half_up_to_cents(hourly, increment, runtime, billed, cost):
    estimate = cost_estimate(D(hourly), D(increment), D(runtime))
    assert estimate.billed_minutes == D(billed)
    assert estimate.estimated_cost_usd == D(cost)
    assert estimate.display == f"${D(cost):.2f}"


# --- analysis ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("workload", "floor", "inferred", "requires_gpu"), [
    (spec(workload_type="cg_batch"), 16, True, True),
    (spec(workload_type="render", assets=(Asset("a", 1500),)), 24, True, True),
    (spec(workload_type="voice_synthesis"), 12, True, True),
    (spec(workload_type="tts"), 12, True, True),
    (spec(workload_type="translation"), None, False, False),
    (spec(workload_type="translation", translation_requires_gpu=True), 12, True, True),
    (spec(workload_type="translation", min_vram_gb=8, translation_requires_gpu=True), 12, True, True),
    (spec(workload_type="translation", min_vram_gb=20, translation_requires_gpu=True), 20, False, True),
    (spec(workload_type=None), None, False, False),
    (spec(workload_type="other", assets=(Asset("a", 300),)), 8, True, True),
    (spec(workload_type="other", assets=(Asset("a", 600),)), 12, True, True),
    (spec(workload_type="other", assets=(Asset("a", 1100),)), 16, True, True),
    (spec(workload_type="other", assets=(Asset("a", 2100),)), 24, True, True),
    (spec(workload_type="cg_batch", min_vram_gb=0), 0, False, False),  # explicit 0: no floor, not "absent"
    (spec(requires_gpu=True), None, False, True),
])
def test_analysis_infers_vram_floor_and_gpu_need(workload, floor, inferred, requires_gpu):
    analysis = workload_analyse(workload)
    assert analysis.min_vram_gb == floor
    assert analysis.min_vram_inferred is inferred
    assert analysis.requires_gpu is requires_gpu


@pytest.mark.parametrize(("minutes", "mode", "expected_minutes"), [
    (None, RunMode.STANDARD, 30), (20, RunMode.BURST, 20), (21, RunMode.STANDARD, 21),
    (239, RunMode.STANDARD, 239), (240, RunMode.LONG_RUNNING, 240), (0, RunMode.BURST, 0),
])
def test_analysis_runtime_class(minutes, mode, expected_minutes):
    analysis = workload_analyse(spec(estimated_minutes=minutes))
    assert analysis.mode == mode
    assert analysis.expected_runtime_minutes == expected_minutes


@pytest.mark.parametrize(("workload", "persistent"), [
    (spec(), False),
    (spec(workflows=(Workflow("w", persist_outputs=True),)), True),
    (spec(assets=(Asset("a", 1500), Asset("b", 600))), True),  # total over 2048 MB
    (spec(cache_requires_persistent=True), True),
    (spec(workflows=(Workflow("w", cached=True),)), False),
])
def test_analysis_persistent_storage_need(workload, persistent):
    assert workload_analyse(workload).requires_persistent_storage is persistent


def test_analysis_counts_workflows_and_assets():
    analysis = workload_analyse(spec(assets=(Asset("a", 100, cached=True), Asset("b", 50)),
                                     workflows=(Workflow("w1", cached=True), Workflow("w2"), Workflow("w3"))))
    assert (analysis.total_asset_mb, analysis.largest_asset_mb, analysis.uncached_asset_mb) == (150, 100, 50)
    assert (analysis.cached_workflows, analysis.uncached_workflows) == (1, 2)


# --- eligibility ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("candidate", "workload", "codes"), [
    (make_candidate("p", active=False), spec(), [RejectionCode.INACTIVE]),
    (make_candidate("p", hourly=None), spec(), [RejectionCode.PRICE_UNKNOWN]),
    (make_candidate("p", vram=16), spec(min_vram_gb=24), [RejectionCode.VRAM_TOO_SMALL]),
    (make_candidate("p", vram=None), spec(min_vram_gb=24), [RejectionCode.VRAM_UNKNOWN]),
    (make_candidate("p", vram=None), spec(), []),
    (make_candidate("p", supports_persistent_storage=False), spec(cache_requires_persistent=True),
     [RejectionCode.NO_PERSISTENT_STORAGE]),
    (make_candidate("p", supports_large_assets=False, supports_persistent_storage=False),
     spec(assets=(Asset("big", 3000),)), [RejectionCode.NO_PERSISTENT_STORAGE, RejectionCode.ASSETS_TOO_LARGE]),
    (make_candidate("p", supports_long_running=False), spec(estimated_minutes=300), [RejectionCode.NO_LONG_RUNNING]),
    (make_candidate("p", regions=("us-east",)), spec(residency_regions=("eu",)), [RejectionCode.REGION_NOT_ALLOWED]),
    (make_candidate("p", hourly="2.00", increment="60"), spec(estimated_minutes=10, budget_limit_usd="1.99"),
     [RejectionCode.OVER_BUDGET]),
    (make_candidate("p", hourly="2.00", increment="60"), spec(estimated_minutes=10, budget_limit_usd="2.00"), []),
    (make_candidate("p", hourly="0.00"), spec(budget_limit_usd=0), []),
    (make_candidate("p", active=False, vram=8), spec(min_vram_gb=12, budget_limit_usd=0),
     [RejectionCode.INACTIVE, RejectionCode.VRAM_TOO_SMALL, RejectionCode.OVER_BUDGET]),
])
def test_eligibility_reports_every_failed_check_with_a_stable_code(candidate, workload, codes):
    advice = advise(workload, [candidate], [])
    rejected = {r.candidate.provider.id: r for r in advice.rejected}
    if not codes:
        assert not rejected and advice.remote_candidate.candidate == candidate
        return
    assert list(rejected["p"].codes) == codes
    assert rejected["p"].code == codes[0] and rejected["p"].message


def test_vram_gates_on_the_largest_offered_not_the_smallest():
    """Upstream excluded RunPod (12–24 GB) from 16 GB jobs because it read min_vram_gb."""
    advice = advise(spec(workload_type="cg_batch", min_vram_gb=16, estimated_minutes=30),
                    [template_candidate("runpod"), template_candidate("lambda")], [])
    assert advice.remote_candidate.candidate.provider.id == "runpod"


@pytest.mark.parametrize(("regions", "allowed", "ok"), [
    (("eu-central",), ("eu",), True),
    (("us-west", "eu-central"), ("eu",), True),
    (("us-west",), ("eu",), False),
    (("global",), ("eu",), True),
    (("global",), (), False),
    (("marketplace",), ("eu", "marketplace"), False),
    (("on-prem",), ("eu", "on-prem"), True),
    (("EU-West",), ("eu",), True),
    ((), ("eu",), False),
])
def test_region_matching(regions, allowed, ok):
    assert region_allowed(regions, allowed) is ok


# --- ranking -------------------------------------------------------------------------------------------------------

FAST_DEAR = dict(hourly="3.00", startup_minutes=1, relative_speed=3.0)
SLOW_CHEAP = dict(hourly="0.30", startup_minutes=10, relative_speed=0.5)


@pytest.mark.parametrize(("mode", "winner"), [
    (BudgetMode.COST_SAVER, "cheap"),
    (BudgetMode.SPEED, "fast"),
    (BudgetMode.BALANCED, "cheap"),  # cost ratio 10x outweighs time ratio ~5x
])
def test_budget_mode_decides_the_ranking(mode, winner):
    candidates = [make_candidate("fast", **FAST_DEAR), make_candidate("cheap", **SLOW_CHEAP)]
    advice = advise(spec(estimated_minutes=60, budget_mode=mode, requires_gpu=True), candidates, [])
    assert advice.remote_candidate.candidate.provider.id == winner
    assert advice.remote_candidate.score.mode == mode


def test_speed_counts_startup_transfer_of_uncached_assets_and_relative_speed():
    near = make_candidate("near", startup_minutes=2, bandwidth_mbps=1000, relative_speed=1.0)
    far = make_candidate("far", startup_minutes=2, bandwidth_mbps=10, relative_speed=2.0)
    workload = spec(estimated_minutes=60, budget_mode=BudgetMode.SPEED, requires_gpu=True,
                    assets=(Asset("big", 1000), Asset("cached", 50_000, cached=True)))
    advice = advise(workload, [near, far], [])
    # near: 2 + 8000 Mb/1000 Mbps = 0.133 min + 60 = 62.13; far: 2 + 800 s = 13.33 min + 30 = 45.33
    assert ids([advice.remote_candidate, *advice.alternatives]) == ["far", "near"]
    breakdown = advice.remote_candidate.score
    assert breakdown.transfer_minutes == pytest.approx(8000 / 10 / 60)
    assert breakdown.compute_minutes == 30
    assert breakdown.total == pytest.approx(2 + 8000 / 10 / 60 + 30)


def test_balanced_bonuses_for_preferred_workload_and_persistent_cache():
    plain = make_candidate("a-plain", supports_persistent_storage=False)
    preferred = make_candidate("b-preferred", supports_persistent_storage=False,
                               preferred_workloads=frozenset({"cg_batch"}))
    cached = make_candidate("c-cached", supports_persistent_storage=True)
    workload = spec(workload_type="cg_batch", workflows=(Workflow("w", cached=True),))
    advice = advise(workload, [plain, preferred, cached], [])
    ranked = [advice.remote_candidate, *advice.alternatives]
    assert [s.score.total for s in ranked] == pytest.approx([1.9, 1.9, 2.0])
    assert ids(ranked) == ["b-preferred", "c-cached", "a-plain"]  # equal scores → cost, priority, then id
    assert ranked[0].score.preferred_workload_bonus == 0.1 and ranked[1].score.persistent_cache_bonus == 0.1
    assert (ranked[2].score.cost_ratio, ranked[2].score.time_ratio) == (1.0, 1.0)


def test_balanced_handles_a_free_candidate_without_dividing_by_zero():
    advice = advise(spec(requires_gpu=True), [make_candidate("free", hourly="0"), make_candidate("paid")], [])
    assert ids([advice.remote_candidate, *advice.alternatives]) == ["free", "paid"]
    assert advice.alternatives[0].score.cost_ratio == 50.0  # $0.50 for the default 30 min / one-cent floor


@pytest.mark.parametrize(("candidates", "expected"), [
    # equal score and cost → priority
    ([make_candidate("b", priority=1), make_candidate("a", priority=2)], ["b", "a"]),
    # equal score, cost and priority → id
    ([make_candidate("b"), make_candidate("a")], ["a", "b"]),
    # unhealthy ranks after every other eligible candidate, even when cheaper
    ([make_candidate("cheap", hourly="0.10", health=Health.UNHEALTHY), make_candidate("dear", hourly="5.00")],
     ["dear", "cheap"]),
    # never-checked providers are not penalised
    ([make_candidate("dear", hourly="5.00"), make_candidate("new", hourly="0.10", health=Health.UNVERIFIED)],
     ["new", "dear"]),
])
def test_tie_breaks_and_health_ordering(candidates, expected):
    for order in (candidates, candidates[::-1]):
        advice = advise(spec(budget_mode=BudgetMode.COST_SAVER, requires_gpu=True), order, [])
        assert ids([advice.remote_candidate, *advice.alternatives]) == expected


def test_alternatives_are_the_next_three():
    candidates = [make_candidate(f"p{i}", hourly=f"{i}.00") for i in range(1, 7)]
    advice = advise(spec(budget_mode=BudgetMode.COST_SAVER, requires_gpu=True), candidates[::-1], [])
    assert advice.remote_candidate.candidate.provider.id == "p1"
    assert ids(advice.alternatives) == ["p2", "p3", "p4"]


# --- choice --------------------------------------------------------------------------------------------------------

GPU_JOB = spec(workload_type="cg_batch", estimated_minutes=30)


@pytest.mark.parametrize(("workload", "candidates", "gpus", "flags", "choice", "warnings"), [
    (GPU_JOB, [make_candidate("r")], [], {"hardware_override": True}, Choice.CPU, []),
    (GPU_JOB, [make_candidate("r")], [local_gpu(24)], {"prefer_remote": True}, Choice.REMOTE, []),
    (GPU_JOB, [], [local_gpu(24)], {"prefer_remote": True}, Choice.GPU, [WarningCode.NO_ELIGIBLE_REMOTE]),
    (GPU_JOB, [make_candidate("r")], [local_gpu(24)], {}, Choice.GPU, []),
    (GPU_JOB, [make_candidate("r")], [local_gpu(24, free_gb=4)], {}, Choice.REMOTE, []),  # free VRAM decides
    (GPU_JOB, [make_candidate("r")], [local_gpu(None)], {}, Choice.REMOTE, []),  # unknown memory can't meet a floor
    (spec(), [make_candidate("r")], [local_gpu(None)], {}, Choice.GPU, []),  # no floor: any GPU will do
    (spec(workload_type="translation"), [make_candidate("r")], [], {}, Choice.CPU, []),
    (GPU_JOB, [make_candidate("r")], [], {}, Choice.REMOTE, []),
    (GPU_JOB, [], [], {}, Choice.CPU, [WarningCode.GPU_UNAVAILABLE]),
    (GPU_JOB, [make_candidate("r", vram=8)], [], {}, Choice.CPU, [WarningCode.GPU_UNAVAILABLE]),
    (spec(workload_type="cg_batch", budget_limit_usd="0.10"), [make_candidate("r")], [], {}, Choice.CPU,
     [WarningCode.OVER_BUDGET]),
])
def test_choice_rules(workload, candidates, gpus, flags, choice, warnings):
    advice = advise(workload, candidates, gpus, **flags)
    assert advice.choice == choice
    assert [w.code for w in advice.warnings if w.code != WarningCode.DATA_LEAVES_MACHINE] == warnings
    assert advice.reason


def test_hardware_override_keeps_the_remote_as_fallback():
    advice = advise(GPU_JOB, [make_candidate("r")], [local_gpu(24)], hardware_override=True)
    assert advice.choice == Choice.CPU
    assert advice.fallback.candidate.provider.id == "r"
    assert "overrode" in advice.reason


def test_local_pick_prefers_most_usable_vram():
    advice = advise(GPU_JOB, [], [local_gpu(48, free_gb=18, index=0), local_gpu(24, free_gb=22, index=1)])
    assert advice.local_candidate.index == 1


def test_remote_choice_warnings():
    aws = template_candidate("aws")
    workload = spec(workload_type="cg_batch", assets=(Asset("scene", 500),), budget_mode=BudgetMode.COST_SAVER)
    advice = advise(workload, [aws], [])
    assert [w.code for w in advice.warnings] == [WarningCode.DATA_LEAVES_MACHINE, WarningCode.EGRESS_NOTICE,
                                                 WarningCode.CREDENTIALS_UNVERIFIED]
    assert advice.warnings[1].message == aws.provider.egress_notice
    unhealthy = advise(workload, [template_candidate("aws", health=Health.UNHEALTHY)], [])
    assert WarningCode.PROVIDER_UNHEALTHY in [w.code for w in unhealthy.warnings]


def test_over_budget_lists_closest_options_only_from_budget_rejections():
    candidates = [make_candidate("cheap", hourly="2.00"), make_candidate("dear", hourly="3.00"),
                  make_candidate("small", hourly="0.50", vram=4)]
    advice = advise(spec(workload_type="cg_batch", budget_limit_usd="0.50", budget_mode=BudgetMode.COST_SAVER),
                    candidates, [])
    assert advice.choice == Choice.CPU and advice.remote_candidate is None
    assert ids(advice.alternatives) == ["cheap", "dear"]
    assert "Closest options over budget" in advice.reason


def test_same_input_gives_the_same_output():
    candidates = [template_candidate(t) for t in ("runpod", "vast", "lambda", "aws", "coreweave", "paperspace")]
    workload = spec(workload_type="cg_batch", estimated_minutes=90, assets=(Asset("a", 700),))
    first = advise(workload, candidates, [])
    assert all(advise(workload, order, []) == first for order in (candidates[::-1], sorted(candidates, key=id)))


def test_reason_explains_need_choice_cost_and_runners_up():
    advice = advise(spec(workload_type="voice_synthesis", estimated_minutes=3, budget_mode=BudgetMode.COST_SAVER),
                    [template_candidate(t) for t in ("runpod", "coreweave", "paperspace")], [])
    assert advice.reason == (
        "The 'voice_synthesis' workload needs at least 12 GB of GPU memory (inferred), runs about 3 minutes (burst) "
        "and carries 0 MB of assets. 3 of 3 remote offers are eligible, ranked by cost saver. Run remotely on RunPod "
        "at $0.02 for 3 billed minutes ($0.46/h), because there is no local GPU. "
        "Next best: Paperspace $0.78, CoreWeave $0.95.")
