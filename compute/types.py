"""Plain, immutable data the advisor reads and returns; no Django imports, so scoring tests need no database."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple


class BudgetMode(StrEnum):
    """How the advisor ranks eligible candidates (`budget.mode`)."""

    COST_SAVER = "cost_saver"
    BALANCED = "balanced"
    SPEED = "speed"


class RunMode(StrEnum):
    """Runtime class: burst (≤ 20 min), long-running (≥ 240 min) or standard."""

    BURST = "burst"
    STANDARD = "standard"
    LONG_RUNNING = "long_running"


class Choice(StrEnum):
    GPU = "gpu"
    REMOTE = "remote"
    CPU = "cpu"


class Health(StrEnum):
    """Mirrors `Provider.health_state`: never checked, last check passed, last check failed."""

    UNVERIFIED = "unverified"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"


class RejectionCode(StrEnum):
    """Stable reasons a candidate cannot run the workload, in the order they are checked."""

    INACTIVE = "INACTIVE"
    PRICE_UNKNOWN = "PRICE_UNKNOWN"
    VRAM_UNKNOWN = "VRAM_UNKNOWN"
    VRAM_TOO_SMALL = "VRAM_TOO_SMALL"
    TOO_FEW_GPUS = "TOO_FEW_GPUS"
    TOTAL_VRAM_TOO_SMALL = "TOTAL_VRAM_TOO_SMALL"
    NO_PERSISTENT_STORAGE = "NO_PERSISTENT_STORAGE"
    ASSETS_TOO_LARGE = "ASSETS_TOO_LARGE"
    NO_LONG_RUNNING = "NO_LONG_RUNNING"
    REGION_NOT_ALLOWED = "REGION_NOT_ALLOWED"
    OVER_BUDGET = "OVER_BUDGET"


class WarningCode(StrEnum):
    DATA_LEAVES_MACHINE = "data_leaves_machine"
    EGRESS_NOTICE = "egress_notice"
    CREDENTIALS_UNVERIFIED = "credentials_unverified"
    PROVIDER_UNHEALTHY = "provider_unhealthy"
    GPU_UNAVAILABLE = "gpu_unavailable"
    OVER_BUDGET = "over_budget"
    NO_ELIGIBLE_REMOTE = "no_eligible_remote"
    PRICE_STALE = "price_stale"


# --- Input ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Asset:
    """One importer asset; `cached` assets already sit where the job runs and need no transfer."""

    name: str
    size_mb: float
    cached: bool = False


@dataclass(frozen=True, slots=True)
class Workflow:
    id: str
    cached: bool = False
    persist_outputs: bool = False


@dataclass(frozen=True, slots=True)
class WorkloadSpec:
    """The validated workload: upstream aliases already resolved, every number finite and non-negative.

    None means "not given"; the advisor applies the documented defaults and inference.
    """

    workload_type: str | None = None
    min_vram_gb: float | None = None
    estimated_minutes: Decimal | None = None
    assets: tuple[Asset, ...] = ()
    workflows: tuple[Workflow, ...] = ()
    budget_limit_usd: Decimal | None = None
    budget_mode: BudgetMode = BudgetMode.BALANCED
    requires_gpu: bool = False
    translation_requires_gpu: bool = False
    cache_requires_persistent: bool = False
    residency_regions: tuple[str, ...] | None = None
    gpu_count: int | None = None
    min_total_vram_gb: float | None = None


@dataclass(frozen=True, slots=True)
class ProviderProfile:
    """What the advisor knows about one registry entry; shared by all of that provider's offers."""

    id: str
    name: str
    service: str
    base_url: str
    priority: int
    active: bool
    health: Health
    regions: tuple[str, ...] = ()
    supports_large_assets: bool = False
    supports_persistent_storage: bool = False
    supports_long_running: bool = False
    supports_short_burst: bool = False
    startup_minutes: float = 5.0
    bandwidth_mbps: float = 100.0
    relative_speed: float = 1.0
    preferred_workloads: frozenset[str] = frozenset()
    policy_hints: Mapping[str, str] = field(default_factory=dict)
    egress_notice: str | None = None


@dataclass(frozen=True, slots=True)
class Offer:
    """One priced way to run on a provider: a catalog offer (catalog.Offer), or the one its `meta` describes.

    `vram_gb` is the largest per-GPU VRAM the offer gives (None: unknown); `region` narrows the provider's
    regions when the offer is region-specific; `hourly_usd` None means no price is known. `price_stale` is set by
    the selector when the price is older than COMFYVN_PRICE_STALE_HOURS (the advisor itself reads no clock).
    """

    offer_id: str
    instance_type: str
    gpu: str
    gpu_count: int
    vram_gb: float | None
    region: str | None
    hourly_usd: Decimal | None
    billing_increment_minutes: Decimal
    price_fetched_at: datetime | None
    source: str
    zone: str | None = None
    source_version: str = ""
    price_stale: bool = False


@dataclass(frozen=True, slots=True)
class Candidate:
    """A provider plus one priced offer: the unit the advisor accepts, rejects and ranks."""

    provider: ProviderProfile
    offer: Offer

    @property
    def regions(self) -> tuple[str, ...]:
        return (self.offer.region,) if self.offer.region else self.provider.regions


@dataclass(frozen=True, slots=True)
class LocalGpu:
    """A local GPU as the advisor sees it; memory in GB, None where unknown."""

    host: str
    index: int
    uuid: str
    name: str
    total_gb: float | None
    free_gb: float | None
    utilization_pct: float | None

    @property
    def usable_gb(self) -> float | None:
        """Free VRAM, or total VRAM when free is unknown."""
        return self.free_gb if self.free_gb is not None else self.total_gb


# --- Output -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkloadAnalysis:
    workload_type: str | None
    total_asset_mb: float
    largest_asset_mb: float
    uncached_asset_mb: float
    cached_workflows: int
    uncached_workflows: int
    requires_persistent_storage: bool
    expected_runtime_minutes: Decimal
    mode: RunMode
    min_vram_gb: float | None
    min_vram_inferred: bool
    requires_gpu: bool
    translation_requires_gpu: bool
    cost_sensitivity: BudgetMode
    budget_limit_usd: Decimal | None
    residency_regions: tuple[str, ...] | None
    gpu_count: int | None = None
    min_total_vram_gb: float | None = None


# CostEstimate and Rejection are built once per candidate on the advisor's hot path, so they are NamedTuples:
# just as immutable and typed, and about ten times cheaper to construct than a frozen dataclass (bench/advise.py).


class CostEstimate(NamedTuple):
    hourly_usd: Decimal
    billing_increment_minutes: Decimal
    billed_minutes: Decimal
    estimated_cost_usd: Decimal

    @property
    def display(self) -> str:
        return f"${self.estimated_cost_usd:,.2f}"


@dataclass(frozen=True, slots=True)
class ScoreBreakdown:
    """Every term that went into a candidate's score; `total` is what the mode ranks by (lower is better)."""

    mode: BudgetMode
    estimated_cost_usd: Decimal
    startup_minutes: float
    transfer_minutes: float
    compute_minutes: float
    time_to_result_minutes: float
    cost_ratio: float | None
    time_ratio: float | None
    preferred_workload_bonus: float
    persistent_cache_bonus: float
    deprioritised_unhealthy: bool
    total: float


@dataclass(frozen=True, slots=True)
class ScoredCandidate:
    candidate: Candidate
    cost: CostEstimate
    score: ScoreBreakdown
    policy_hint: str | None


class Rejection(NamedTuple):
    """Why a candidate cannot run the workload: the first failed check as `code`, all of them in `codes`.

    `template` is the advisor's message for `code` with the workload's side already filled in; the candidate's
    side is filled in when `message` is read, since a large registry rejects thousands that nobody reads.
    """

    candidate: Candidate
    code: RejectionCode
    codes: tuple[RejectionCode, ...]
    cost: CostEstimate | None
    template: str

    @property
    def message(self) -> str:
        return self.template.format_map(_MessageFields(self))


class _MessageFields(dict):
    """The candidate's side of a rejection message, each field computed only if the template asks for it: most
    templates name the provider and nothing else, and an advice over a large registry fills in hundreds."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(name=rejection.candidate.provider.name)
        self.rejection = rejection

    def __missing__(self, key: str) -> Any:
        candidate, cost = self.rejection.candidate, self.rejection.cost
        offer = candidate.offer
        match key:
            case "vram":
                return offer.vram_gb or 0
            case "gpus":
                return offer.gpu_count
            case "total_vram":
                return (offer.vram_gb or 0) * offer.gpu_count
            case "regions":
                return ", ".join(candidate.regions) or "no stated region"
            case "cost":
                return cost.display if cost else ""
        raise KeyError(key)


@dataclass(frozen=True, slots=True)
class AdviceWarning:
    code: WarningCode
    message: str


@dataclass(frozen=True, slots=True)
class Advice:
    choice: Choice
    reason: str
    analysis: WorkloadAnalysis
    local_candidate: LocalGpu | None
    remote_candidate: ScoredCandidate | None
    fallback: ScoredCandidate | None
    alternatives: tuple[ScoredCandidate, ...]
    rejected: tuple[Rejection, ...]
    warnings: tuple[AdviceWarning, ...]
    hardware_override: bool = False
    prefer_remote: bool = False

    @property
    def chosen_remote(self) -> ScoredCandidate | None:
        """The remote the job is sent to, only when the choice is `remote`."""
        return self.remote_candidate if self.choice == Choice.REMOTE else None
