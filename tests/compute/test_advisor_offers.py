"""The advisor over catalog-shaped offers: GPU count and total VRAM needs, stale prices (pure, no database)."""
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from compute.advisor import advise
from compute.types import BudgetMode, Choice, RejectionCode, WarningCode, WorkloadSpec
from compute.workload import workload_parse
from tests.compute.conftest import local_gpu, make_candidate


def offer_candidate(provider_id: str, *, gpus: int, vram: float, hourly: str, stale: bool = False):
    candidate = make_candidate(provider_id, hourly=hourly, vram=vram)
    offer = replace(candidate.offer, offer_id=f"{provider_id}/{gpus}x", instance_type=f"{gpus}x-gpu", gpu_count=gpus,
                    region="eu-west-1", zone="eu-west-1a", source="skypilot", price_stale=stale,
                    price_fetched_at=datetime(2026, 11, 20, tzinfo=UTC))
    return replace(candidate, offer=offer)


CANDIDATES = [offer_candidate("one", gpus=1, vram=80, hourly="2.00"),
              offer_candidate("two", gpus=2, vram=40, hourly="2.50"),
              offer_candidate("eight", gpus=8, vram=24, hourly="6.00")]


@pytest.mark.parametrize("workload, winner, rejected", [
    (WorkloadSpec(min_vram_gb=40), "one", {"eight": RejectionCode.VRAM_TOO_SMALL}),
    (WorkloadSpec(min_vram_gb=24, gpu_count=2), "two", {"one": RejectionCode.TOO_FEW_GPUS}),
    (WorkloadSpec(min_total_vram_gb=100), "eight", {"one": RejectionCode.TOTAL_VRAM_TOO_SMALL,
                                                    "two": RejectionCode.TOTAL_VRAM_TOO_SMALL}),
    (WorkloadSpec(min_vram_gb=40, min_total_vram_gb=80), "one", {"eight": RejectionCode.VRAM_TOO_SMALL}),
])
def test_vram_floor_is_per_gpu_unless_the_workload_asks_for_gpus_or_total_vram(workload, winner, rejected):
    advice = advise(replace(workload, budget_mode=BudgetMode.COST_SAVER), CANDIDATES, [])
    assert advice.remote_candidate.candidate.provider.id == winner
    assert {r.candidate.provider.id: r.code for r in advice.rejected} == rejected
    assert all(r.message for r in advice.rejected)


def test_rejection_messages_for_gpu_count_and_total_vram():
    advice = advise(WorkloadSpec(gpu_count=4, min_total_vram_gb=200), CANDIDATES, [])
    messages = {r.candidate.provider.id: r.message for r in advice.rejected}
    assert messages["two"] == "Two offers 2 GPU(s) here; the workload needs 4."
    assert {r.candidate.provider.id: r.codes for r in advice.rejected}["one"] == (
        RejectionCode.TOO_FEW_GPUS, RejectionCode.TOTAL_VRAM_TOO_SMALL)


def test_a_multi_gpu_job_never_runs_on_one_local_gpu():
    big = local_gpu(total_gb=96)
    assert advise(WorkloadSpec(min_vram_gb=24), CANDIDATES, [big]).choice == Choice.GPU
    assert advise(WorkloadSpec(min_vram_gb=24, gpu_count=2), CANDIDATES, [big]).choice == Choice.REMOTE
    assert advise(WorkloadSpec(min_total_vram_gb=100), CANDIDATES, [big]).choice == Choice.REMOTE


def test_a_stale_price_on_the_chosen_offer_is_a_warning():
    stale = [offer_candidate("one", gpus=1, vram=80, hourly="2.00", stale=True)]
    warnings = advise(WorkloadSpec(min_vram_gb=24), stale, []).warnings
    assert [w.message for w in warnings if w.code == WarningCode.PRICE_STALE] == [
        "One's price for 1x-gpu ($2.00/h) was fetched at 2026-11-20T00:00+00:00; it may have changed."]
    fresh = advise(WorkloadSpec(min_vram_gb=24), CANDIDATES, []).warnings
    assert WarningCode.PRICE_STALE not in {w.code for w in fresh}


def test_workload_gpu_count_and_total_vram_are_parsed_and_validated():
    spec = workload_parse({"requirements": {"gpu_count": 2, "min_total_vram_gb": 160.5}})
    assert (spec.gpu_count, spec.min_total_vram_gb) == (2, 160.5)
    with pytest.raises(ValidationError) as caught:
        workload_parse({"requirements": {"gpu_count": 1.5, "min_total_vram_gb": -1}})
    assert set(caught.value.message_dict) == {"requirements.gpu_count", "requirements.min_total_vram_gb"}
    with pytest.raises(ValidationError):
        workload_parse({"requirements": {"gpu_count": 0}})


def test_reason_states_gpu_count_and_total_vram():
    reason = advise(WorkloadSpec(min_vram_gb=24, gpu_count=2, min_total_vram_gb=64), CANDIDATES, []).reason
    assert reason.startswith("The untyped workload needs at least 24 GB of GPU memory on each of 2 GPUs, 64 GB of "
                             "GPU memory in all, runs about 30 minutes")
