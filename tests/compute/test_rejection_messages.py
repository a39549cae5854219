"""Every rejection code's message, with the workload's side and the candidate's side filled in."""
from decimal import Decimal

import pytest

from compute.advisor import _rejection_templates, workload_analyse
from compute.types import CostEstimate, Rejection, RejectionCode
from compute.workload import workload_parse
from tests.compute.conftest import make_candidate

WORKLOAD = workload_parse({
    "requirements": {"type": "render", "min_vram_gb": 24, "gpu_count": 2, "min_total_vram_gb": 48,
                     "estimated_minutes": 240},
    "assets": [{"name": "scene.tar", "size_mb": 3000}],
    "residency": {"regions": ["eu"]},
    "budget": {"limit_usd": 5},
})
COST = CostEstimate(Decimal("2.5"), Decimal("60"), Decimal("240"), Decimal("10.00"))
EXPECTED = {
    RejectionCode.INACTIVE: "Tiny is inactive.",
    RejectionCode.PRICE_UNKNOWN: "Tiny has no hourly price, so its cost cannot be estimated.",
    RejectionCode.VRAM_UNKNOWN: "Tiny does not state its VRAM; the workload needs 24 GB.",
    RejectionCode.VRAM_TOO_SMALL: "Tiny offers at most 12 GB VRAM; the workload needs 24 GB.",
    RejectionCode.TOO_FEW_GPUS: "Tiny offers 1 GPU(s) here; the workload needs 2.",
    RejectionCode.TOTAL_VRAM_TOO_SMALL: "Tiny offers 12 GB VRAM in all here; the workload needs 48 GB.",
    RejectionCode.NO_PERSISTENT_STORAGE: "Tiny has no persistent storage; the workload keeps outputs or caches.",
    RejectionCode.ASSETS_TOO_LARGE: "Tiny does not take large assets; the workload carries 3,000 MB.",
    RejectionCode.NO_LONG_RUNNING: "Tiny does not support long-running jobs (240 minutes).",
    RejectionCode.REGION_NOT_ALLOWED: "Tiny runs in us-east, ap-south, outside the allowed regions eu.",
    RejectionCode.OVER_BUDGET: "Tiny would cost $10.00, over the $5.00 budget.",
}


def test_every_code_has_a_message():
    assert set(EXPECTED) == set(RejectionCode)


@pytest.mark.parametrize("code", list(RejectionCode))
def test_message(code):
    templates = _rejection_templates(workload_analyse(WORKLOAD))
    candidate = make_candidate("tiny", vram=12, regions=("us-east", "ap-south"))
    assert Rejection(candidate, code, (code,), COST, templates[code]).message == EXPECTED[code]


def test_a_candidate_without_regions_or_cost():
    templates = _rejection_templates(workload_analyse(WORKLOAD))
    candidate = make_candidate("tiny", regions=())
    code = RejectionCode.REGION_NOT_ALLOWED
    assert Rejection(candidate, code, (code,), None, templates[code]).message == \
        "Tiny runs in no stated region, outside the allowed regions eu."


def test_a_long_list_of_allowed_regions_is_cut_in_every_message():
    many = workload_parse({"residency": {"regions": [f"region-{i}" for i in range(200)]}})
    template = _rejection_templates(workload_analyse(many))[RejectionCode.REGION_NOT_ALLOWED]
    message = Rejection(make_candidate("tiny", regions=("us-east",)), RejectionCode.REGION_NOT_ALLOWED,
                        (RejectionCode.REGION_NOT_ALLOWED,), None, template).message
    assert message == ("Tiny runs in us-east, outside the allowed regions region-0, region-1, region-2, region-3, "
                       "region-4 and 195 more.")


@pytest.mark.parametrize(("minutes", "text"), [(90, "90"), (7.5, "7.5"), (7.125, "7.13"), (1e-300, "0")])
def test_runtime_in_messages_is_to_the_hundredth(minutes, text):
    long_job = workload_parse({"requirements": {"estimated_minutes": minutes}})
    template = _rejection_templates(workload_analyse(long_job))[RejectionCode.NO_LONG_RUNNING]
    assert template == f"{{name}} does not support long-running jobs ({text} minutes)."
