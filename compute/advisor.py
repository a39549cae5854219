"""The compute advisor: a pure function from a workload, priced candidates and local GPUs to an `Advice`.

No ORM, settings, clock or I/O, so the same input always gives the same output and tests need no database.
The algorithm, its weights and where they come from are described in docs/ADVISOR.md.
"""
from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import replace
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from operator import attrgetter

from compute.types import (
    Advice,
    AdviceWarning,
    BudgetMode,
    Candidate,
    Choice,
    CostEstimate,
    Health,
    LocalGpu,
    Rejection,
    RejectionCode,
    RunMode,
    ScoreBreakdown,
    ScoredCandidate,
    WarningCode,
    WorkloadAnalysis,
    WorkloadSpec,
)

# Analysis thresholds: the upstream advisor's values (reference/upstream-comfyvn.md §3.2), kept for compatibility.
DEFAULT_RUNTIME_MINUTES = Decimal(30)
BURST_MAX_MINUTES = 20
LONG_RUNNING_MIN_MINUTES = 240
LARGE_ASSETS_MB = 2048
TRANSLATION_GPU_FLOOR_GB = 12.0
CG_TYPES = frozenset({"cg_batch", "cg", "render", "animation"})
VOICE_TYPES = frozenset({"voice_synthesis", "tts"})

# Balanced mode: cost and time are each divided by the best candidate's, so a candidate that is best at both
# scores 2.0; a bonus of 0.1 is worth a 10 % worse price or time. Small on purpose: upstream's +3.5 preference
# bonus outweighed a 2x price difference (upstream §7 item 8). Ratios never divide by less than one cent or
# one minute, so a free or instant candidate does not turn every other ratio into infinity.
PREFERRED_WORKLOAD_BONUS = 0.1
PERSISTENT_CACHE_BONUS = 0.1
COST_RATIO_FLOOR_USD = Decimal("0.01")
TIME_RATIO_FLOOR_MINUTES = 1.0

MAX_ALTERNATIVES = 3
CENT = Decimal("0.01")
HUNDREDTH = Decimal("0.01")  # minutes in messages
SIXTY = Decimal(60)
MEGABITS_PER_MB = 8


def workload_analyse(workload: WorkloadSpec) -> WorkloadAnalysis:
    """Derive the job's needs (VRAM floor, runtime class, storage) as upstream did, minus its bugs."""
    sizes = [asset.size_mb for asset in workload.assets]
    total_mb = sum(sizes)
    largest_mb = max(sizes, default=0.0)
    uncached_mb = sum(asset.size_mb for asset in workload.assets if not asset.cached)
    cached = sum(1 for workflow in workload.workflows if workflow.cached)
    runtime = workload.estimated_minutes if workload.estimated_minutes is not None else DEFAULT_RUNTIME_MINUTES
    if runtime <= BURST_MAX_MINUTES:
        mode = RunMode.BURST
    elif runtime >= LONG_RUNNING_MIN_MINUTES:
        mode = RunMode.LONG_RUNNING
    else:
        mode = RunMode.STANDARD

    floor = workload.min_vram_gb
    if floor is None:
        floor = _vram_floor_inferred(workload.workload_type, largest_mb)
    if workload.translation_requires_gpu:
        # Applied after the explicit value on purpose: upstream let an explicit 8 undo this raise (§3.2 step 6).
        floor = max(floor or 0.0, TRANSLATION_GPU_FLOOR_GB)
    requires_gpu = (workload.requires_gpu or bool(floor) or workload.translation_requires_gpu
                    or bool(workload.gpu_count) or bool(workload.min_total_vram_gb))
    return WorkloadAnalysis(
        workload_type=workload.workload_type,
        total_asset_mb=total_mb,
        largest_asset_mb=largest_mb,
        uncached_asset_mb=uncached_mb,
        cached_workflows=cached,
        uncached_workflows=len(workload.workflows) - cached,
        requires_persistent_storage=(any(w.persist_outputs for w in workload.workflows)
                                     or total_mb > LARGE_ASSETS_MB or workload.cache_requires_persistent),
        expected_runtime_minutes=runtime,
        mode=mode,
        min_vram_gb=floor,
        min_vram_inferred=floor is not None and floor != workload.min_vram_gb,
        requires_gpu=requires_gpu,
        translation_requires_gpu=workload.translation_requires_gpu,
        cost_sensitivity=workload.budget_mode,
        budget_limit_usd=workload.budget_limit_usd,
        residency_regions=workload.residency_regions,
        gpu_count=workload.gpu_count,
        min_total_vram_gb=workload.min_total_vram_gb,
    )


def _vram_floor_inferred(workload_type: str | None, largest_mb: float) -> float | None:
    if workload_type in CG_TYPES:
        return 24.0 if largest_mb > 1024 else 16.0
    if workload_type in VOICE_TYPES:
        return 12.0
    if workload_type == "translation":
        return None  # a translation needs a GPU only when its pipeline says so
    for above_mb, floor in ((2048, 24.0), (1024, 16.0), (512, 12.0), (256, 8.0)):
        if largest_mb > above_mb:
            return floor
    return None


def cost_estimate(hourly_usd: Decimal, increment_minutes: Decimal, runtime_minutes: Decimal) -> CostEstimate:
    """Billing-accurate cost: runtime rounded up to whole billing increments (0 → exact), half-up to cents."""
    billed = _billed_minutes(increment_minutes, runtime_minutes)
    return CostEstimate(hourly_usd=hourly_usd, billing_increment_minutes=increment_minutes, billed_minutes=billed,
                        estimated_cost_usd=_cost_usd(hourly_usd, billed))


def _billed_minutes(increment: Decimal, runtime: Decimal) -> Decimal:
    if increment <= 0:
        return runtime
    return (runtime / increment).to_integral_value(ROUND_CEILING) * increment


def _cost_usd(hourly_usd: Decimal, billed_minutes: Decimal) -> Decimal:
    return (hourly_usd * billed_minutes / SIXTY).quantize(CENT, ROUND_HALF_UP)


# A candidate with its billed minutes and cost; the CostEstimate object is only built for what is returned.
Priced = tuple[Candidate, Decimal, Decimal]


def advise(workload: WorkloadSpec, candidates: Sequence[Candidate], local_gpus: Sequence[LocalGpu], *,
           prefer_remote: bool = False, hardware_override: bool = False) -> Advice:
    """Analyse the workload, reject what cannot run it, rank the rest by the budget mode and choose gpu/remote/cpu."""
    return advise_analysed(workload_analyse(workload), candidates, local_gpus, prefer_remote=prefer_remote,
                           hardware_override=hardware_override)


def advise_analysed(analysis: WorkloadAnalysis, candidates: Sequence[Candidate], local_gpus: Sequence[LocalGpu], *,
                    prefer_remote: bool = False, hardware_override: bool = False) -> Advice:
    """`advise` for a workload already analysed: the advice depends on the workload only through its analysis."""
    runtime = analysis.expected_runtime_minutes
    checks = _Eligibility(analysis)
    templates = _rejection_templates(analysis)
    billed_by_increment: dict[Decimal, Decimal] = {}
    eligible: list[Priced] = []
    budget_only: list[Priced] = []
    rejected: list[Rejection] = []
    for candidate in candidates:
        offer = candidate.offer
        billed = cost = None
        if offer.hourly_usd is not None:
            billed = billed_by_increment.get(offer.billing_increment_minutes)
            if billed is None:
                billed = billed_by_increment[offer.billing_increment_minutes] = _billed_minutes(
                    offer.billing_increment_minutes, runtime)
            cost = (offer.hourly_usd * billed / SIXTY).quantize(CENT, ROUND_HALF_UP)  # _cost_usd, inlined: hot loop
        codes = checks.failures(candidate, cost)
        if not codes:
            eligible.append((candidate, billed, cost))
            continue
        if len(codes) == 1 and codes[0] == RejectionCode.OVER_BUDGET:
            budget_only.append((candidate, billed, cost))
        estimate = _estimate(candidate, billed, cost) if cost is not None else None
        rejected.append(Rejection(candidate, codes[0], codes, estimate, templates[codes[0]]))

    rejected.sort(key=_CANONICAL_ORDER)
    ranked = _rank(eligible, analysis, MAX_ALTERNATIVES + 1)
    best_remote = ranked[0] if ranked else None
    local = None if (analysis.gpu_count or 1) > 1 else _local_gpu_pick(
        local_gpus, max(analysis.min_vram_gb or 0.0, analysis.min_total_vram_gb or 0.0) or None)
    warnings: list[AdviceWarning] = []
    alternatives = tuple(ranked[1:])

    if hardware_override:
        choice = Choice.CPU
    elif prefer_remote and best_remote:
        choice = Choice.REMOTE
    elif local:
        choice = Choice.GPU
    elif not analysis.requires_gpu:
        choice = Choice.CPU
    elif best_remote:
        choice = Choice.REMOTE
    else:
        choice = Choice.CPU
        if budget_only:
            warnings.append(AdviceWarning(WarningCode.OVER_BUDGET, (
                f"Every GPU that fits costs more than the {_usd(analysis.budget_limit_usd)} budget; "
                "running on CPU. Raise the limit or shorten the job to use a GPU.")))
            alternatives = tuple(_rank(budget_only, analysis, MAX_ALTERNATIVES))
        else:
            warnings.append(AdviceWarning(WarningCode.GPU_UNAVAILABLE, (
                "The workload needs a GPU but no local GPU or eligible remote provider can run it; "
                "falling back to CPU, which may be slow or fail.")))
    if prefer_remote and not best_remote and not hardware_override:
        warnings.append(AdviceWarning(WarningCode.NO_ELIGIBLE_REMOTE,
                                      "Remote processing was requested but no remote provider is eligible."))
    if choice == Choice.REMOTE:
        warnings.extend(_remote_warnings(best_remote, analysis))

    advice = Advice(choice=choice, reason="", analysis=analysis, local_candidate=local, remote_candidate=best_remote,
                    fallback=best_remote if hardware_override else None, alternatives=alternatives,
                    rejected=tuple(rejected), warnings=tuple(warnings), hardware_override=hardware_override,
                    prefer_remote=prefer_remote)
    return replace(advice, reason=_reason(advice, has_local_gpus=bool(local_gpus), candidates_count=len(candidates)))


_CANONICAL_ORDER = attrgetter("candidate.provider.priority", "candidate.provider.id", "candidate.offer.offer_id")


def _estimate(candidate: Candidate, billed: Decimal, cost: Decimal) -> CostEstimate:
    offer = candidate.offer
    return CostEstimate(offer.hourly_usd, offer.billing_increment_minutes, billed, cost)


class _Eligibility:
    """The workload's requirements, unpacked once per call, checked against each candidate in turn."""

    __slots__ = ("floor", "gpus", "total", "persistent", "large_assets", "long_running", "allowed", "limit",
                 "_regions")

    def __init__(self, analysis: WorkloadAnalysis) -> None:
        self.floor = analysis.min_vram_gb or None
        self.gpus = analysis.gpu_count if (analysis.gpu_count or 0) > 1 else None
        self.total = analysis.min_total_vram_gb or None
        self.persistent = analysis.requires_persistent_storage
        self.large_assets = analysis.total_asset_mb > LARGE_ASSETS_MB
        self.long_running = analysis.mode == RunMode.LONG_RUNNING
        self.allowed = analysis.residency_regions
        self.limit = analysis.budget_limit_usd
        self._regions: dict[tuple[str, ...], bool] = {}

    def failures(self, candidate: Candidate, cost: Decimal | None) -> tuple[RejectionCode, ...]:
        """Every failed check, in RejectionCode order; () when the candidate can run the workload.

        A tuple grown only on failure: the common, eligible case allocates nothing (less garbage to collect).
        """
        provider, offer = candidate.provider, candidate.offer
        codes: tuple[RejectionCode, ...] = ()
        if not provider.active:
            codes += (RejectionCode.INACTIVE,)
        if cost is None:
            codes += (RejectionCode.PRICE_UNKNOWN,)
        if self.floor:
            if offer.vram_gb is None:
                codes += (RejectionCode.VRAM_UNKNOWN,)
            elif offer.vram_gb < self.floor:
                codes += (RejectionCode.VRAM_TOO_SMALL,)
        # The floor above is per GPU; a workload may also ask for several GPUs or for VRAM summed over them.
        if self.gpus and offer.gpu_count < self.gpus:
            codes += (RejectionCode.TOO_FEW_GPUS,)
        if self.total and (offer.vram_gb or 0) * offer.gpu_count < self.total:
            codes += (RejectionCode.TOTAL_VRAM_TOO_SMALL,)
        if self.persistent and not provider.supports_persistent_storage:
            codes += (RejectionCode.NO_PERSISTENT_STORAGE,)
        if self.large_assets and not provider.supports_large_assets:
            codes += (RejectionCode.ASSETS_TOO_LARGE,)
        if self.long_running and not provider.supports_long_running:
            codes += (RejectionCode.NO_LONG_RUNNING,)
        if self.allowed is not None:
            regions = candidate.regions
            allowed = self._regions.get(regions)
            if allowed is None:
                allowed = self._regions[regions] = region_allowed(regions, self.allowed)
            if not allowed:
                codes += (RejectionCode.REGION_NOT_ALLOWED,)
        if self.limit is not None and cost is not None and cost > self.limit:
            codes += (RejectionCode.OVER_BUDGET,)
        return codes


def region_allowed(regions: Iterable[str], allowed: Sequence[str]) -> bool:
    """A region is allowed when it equals or starts with an allowed entry; `global` matches any, `marketplace` none."""
    prefixes = tuple(allowed)
    for region in regions:
        region = region.lower()
        if region == "marketplace":
            continue
        if (region == "global" and prefixes) or (prefixes and region.startswith(prefixes)):
            return True
    return False


# One message per rejection code. Single braces are filled once per call (the workload's side); doubled ones
# become the candidate's side, filled in by `Rejection.message` only when it is read.
_REJECTION_TEMPLATES = {
    RejectionCode.INACTIVE: "{{name}} is inactive.",
    RejectionCode.PRICE_UNKNOWN: "{{name}} has no hourly price, so its cost cannot be estimated.",
    RejectionCode.VRAM_UNKNOWN: "{{name}} does not state its VRAM; the workload needs {floor} GB.",
    RejectionCode.VRAM_TOO_SMALL: "{{name}} offers at most {{vram:g}} GB VRAM; the workload needs {floor} GB.",
    RejectionCode.TOO_FEW_GPUS: "{{name}} offers {{gpus}} GPU(s) here; the workload needs {gpus}.",
    RejectionCode.TOTAL_VRAM_TOO_SMALL: "{{name}} offers {{total_vram:g}} GB VRAM in all here; the workload needs "
                                        "{total} GB.",
    RejectionCode.NO_PERSISTENT_STORAGE: "{{name}} has no persistent storage; the workload keeps outputs or caches.",
    RejectionCode.ASSETS_TOO_LARGE: "{{name}} does not take large assets; the workload carries {assets} MB.",
    RejectionCode.NO_LONG_RUNNING: "{{name}} does not support long-running jobs ({runtime} minutes).",
    RejectionCode.REGION_NOT_ALLOWED: "{{name}} runs in {{regions}}, outside the allowed regions {allowed}.",
    RejectionCode.OVER_BUDGET: "{{name}} would cost {{cost}}, over the {limit} budget.",
}


def _rejection_templates(analysis: WorkloadAnalysis) -> dict[RejectionCode, str]:
    context = {
        "floor": f"{analysis.min_vram_gb or 0:g}",
        "gpus": analysis.gpu_count or 1,
        "total": f"{analysis.min_total_vram_gb or 0:g}",
        "assets": f"{analysis.total_asset_mb:,.0f}",
        "runtime": _minutes(analysis.expected_runtime_minutes),
        "allowed": _listed(analysis.residency_regions or ()) or "(none)",
        "limit": _usd(analysis.budget_limit_usd) if analysis.budget_limit_usd is not None else "",
    }
    return {code: template.format(**context) for code, template in _REJECTION_TEMPLATES.items()}


def _rank(pool: list[Priced], analysis: WorkloadAnalysis, limit: int) -> list[ScoredCandidate]:
    """The best `limit` candidates for the budget mode, lower score first.

    cost_saver ranks by estimated cost; speed by time to result (startup + transfer of uncached assets + runtime
    ÷ relative speed); balanced by cost and time each divided by the best candidate's, summed, minus small bonuses.
    Unhealthy providers rank after every other candidate. Ties: score, cost, priority, provider id, offer id.
    Only the returned candidates get a full breakdown; the rest are compared as plain tuples.
    """
    if not pool:
        return []
    mode = analysis.cost_sensitivity
    runtime = float(analysis.expected_runtime_minutes)
    uncached_megabits = analysis.uncached_asset_mb * MEGABITS_PER_MB
    unhealthy = Health.UNHEALTHY
    best_cost = float(max(min(cost for _, _, cost in pool), COST_RATIO_FLOOR_USD))
    best_time = TIME_RATIO_FLOOR_MINUTES
    if mode == BudgetMode.COST_SAVER:  # exact Decimal costs rank themselves; no time needed
        keyed = [(c.provider.health is unhealthy, cost, cost, c.provider.priority, c.provider.id, c.offer.offer_id, i)
                 for i, (c, _, cost) in enumerate(pool)]
    else:
        times = [sum(_time_terms(c, runtime, uncached_megabits)) for c, _, _ in pool]
        if mode == BudgetMode.SPEED:
            totals = times
        else:
            best_time = max(min(times), TIME_RATIO_FLOOR_MINUTES)
            cached_graphs = analysis.cached_workflows > 0
            workload_type = analysis.workload_type
            totals = [float(cost) / best_cost + time / best_time
                      - (PREFERRED_WORKLOAD_BONUS if workload_type in c.provider.preferred_workloads else 0.0)
                      - (PERSISTENT_CACHE_BONUS if cached_graphs and c.provider.supports_persistent_storage else 0.0)
                      for (c, _, cost), time in zip(pool, times, strict=True)]
        # Rounded so that equal scores reached by different float paths tie, and fall through to cost, priority, id.
        keyed = [(c.provider.health is unhealthy, round(total, 9), cost, c.provider.priority, c.provider.id,
                  c.offer.offer_id, i) for i, ((c, _, cost), total) in enumerate(zip(pool, totals, strict=True))]
    return [_scored(pool[key[-1]], _time_terms(pool[key[-1]][0], runtime, uncached_megabits), float(key[1]),
                    analysis, best_cost, best_time)
            for key in heapq.nsmallest(limit, keyed)]


def _time_terms(candidate: Candidate, runtime: float, uncached_megabits: float) -> tuple[float, float, float]:
    """(startup, transfer, compute) minutes; a bandwidth of 0 means the data is already there."""
    provider = candidate.provider
    bandwidth = provider.bandwidth_mbps
    transfer = uncached_megabits / bandwidth / 60 if bandwidth > 0 else 0.0
    speed = provider.relative_speed if provider.relative_speed > 0 else 1.0
    return provider.startup_minutes, transfer, runtime / speed


def _scored(priced: Priced, terms: tuple[float, float, float], total: float, analysis: WorkloadAnalysis,
            best_cost: float, best_time: float) -> ScoredCandidate:
    candidate, billed, cost = priced
    provider = candidate.provider
    balanced = analysis.cost_sensitivity == BudgetMode.BALANCED
    time_total = sum(terms)
    preferred = balanced and analysis.workload_type in provider.preferred_workloads
    cache_bonus = balanced and analysis.cached_workflows > 0 and provider.supports_persistent_storage
    score = ScoreBreakdown(
        mode=analysis.cost_sensitivity,
        estimated_cost_usd=cost,
        startup_minutes=terms[0],
        transfer_minutes=terms[1],
        compute_minutes=terms[2],
        time_to_result_minutes=time_total,
        cost_ratio=float(cost) / best_cost if balanced else None,
        time_ratio=time_total / best_time if balanced else None,
        preferred_workload_bonus=PREFERRED_WORKLOAD_BONUS if preferred else 0.0,
        persistent_cache_bonus=PERSISTENT_CACHE_BONUS if cache_bonus else 0.0,
        deprioritised_unhealthy=provider.health == Health.UNHEALTHY,
        total=total,
    )
    hint = provider.policy_hints.get(analysis.workload_type) if analysis.workload_type else None
    return ScoredCandidate(candidate=candidate, cost=_estimate(candidate, billed, cost), score=score, policy_hint=hint)


def _local_gpu_pick(local_gpus: Sequence[LocalGpu], floor: float | None) -> LocalGpu | None:
    """The local GPU with the most usable VRAM that meets the floor; without a floor any GPU will do."""
    fitting = [gpu for gpu in local_gpus
               if not floor or (gpu.usable_gb is not None and gpu.usable_gb >= floor)]
    if not fitting:
        return None
    return min(fitting, key=lambda gpu: (-(gpu.usable_gb or 0.0), gpu.host, gpu.index))


def _remote_warnings(chosen: ScoredCandidate, analysis: WorkloadAnalysis) -> list[AdviceWarning]:
    provider = chosen.candidate.provider
    warnings = []
    if analysis.total_asset_mb > 0:
        warnings.append(AdviceWarning(WarningCode.DATA_LEAVES_MACHINE, (
            f"{analysis.total_asset_mb:,.0f} MB of assets will be sent to {provider.name} "
            f"({', '.join(chosen.candidate.regions) or 'region not stated'}).")))
    if provider.egress_notice:
        warnings.append(AdviceWarning(WarningCode.EGRESS_NOTICE, provider.egress_notice))
    offer = chosen.candidate.offer
    if offer.price_stale:
        fetched = offer.price_fetched_at.isoformat(timespec="minutes") if offer.price_fetched_at else "an unknown time"
        warnings.append(AdviceWarning(WarningCode.PRICE_STALE, (
            f"{provider.name}'s price for {offer.instance_type} ({_usd(offer.hourly_usd)}/h) was fetched at "
            f"{fetched}; it may have changed.")))
    if provider.health == Health.UNVERIFIED:
        warnings.append(AdviceWarning(WarningCode.CREDENTIALS_UNVERIFIED, (
            f"{provider.name} has never passed a health check; its credentials are unverified.")))
    elif provider.health == Health.UNHEALTHY:
        warnings.append(AdviceWarning(WarningCode.PROVIDER_UNHEALTHY, (
            f"{provider.name} failed its last health check; it was chosen only because no healthy "
            "provider is eligible.")))
    return warnings


def _reason(advice: Advice, *, has_local_gpus: bool, candidates_count: int) -> str:
    """One readable paragraph: what the job needs, what was considered, what was chosen and why."""
    analysis, remote_candidate, local_candidate = advice.analysis, advice.remote_candidate, advice.local_candidate
    choice, alternatives = advice.choice, advice.alternatives
    kind = f"'{analysis.workload_type}'" if analysis.workload_type else "untyped"
    needs = (f"at least {analysis.min_vram_gb:g} GB of GPU memory"
             + (" (inferred)" if analysis.min_vram_inferred else "")) if analysis.min_vram_gb else (
        "a GPU" if analysis.requires_gpu else "no GPU")
    if (analysis.gpu_count or 1) > 1:
        needs += f" on each of {analysis.gpu_count} GPUs"
    if analysis.min_total_vram_gb:
        needs += f", {analysis.min_total_vram_gb:g} GB of GPU memory in all"
    sentences = [
        f"The {kind} workload needs {needs}, runs about {_minutes(analysis.expected_runtime_minutes)} minutes "
        f"({analysis.mode.value.replace('_', '-')}) and carries {analysis.total_asset_mb:,.0f} MB of assets.",
        f"{candidates_count - len(advice.rejected)} of {candidates_count} remote offers are eligible, ranked by "
        f"{analysis.cost_sensitivity.value.replace('_', ' ')}.",
    ]
    remote_text = None
    if remote_candidate:
        remote_text = (f"{remote_candidate.candidate.provider.name} at {remote_candidate.cost.display} for "
                       f"{_minutes(remote_candidate.cost.billed_minutes)} billed minutes "
                       f"({_usd(remote_candidate.cost.hourly_usd)}/h)")
    if choice == Choice.REMOTE:
        why = "remote processing was requested" if advice.prefer_remote else (
            "no local GPU fits" if has_local_gpus else "there is no local GPU")
        sentences.append(f"Run remotely on {remote_text}, because {why}.")
    elif choice == Choice.GPU:
        sentences.append(f"Run on the local GPU {local_candidate.name} ({local_candidate.host} #{local_candidate.index}"
                         f", {round(local_candidate.usable_gb or 0, 1):g} GB usable) at no cost.")
    elif advice.hardware_override:
        sentences.append("Run on CPU because the caller overrode the hardware choice"
                         + (f"; the remote fallback is {remote_text}." if remote_text else "."))
    elif not analysis.requires_gpu:
        sentences.append("Run on CPU because the workload needs no GPU.")
    else:
        sentences.append("Run on CPU. " + " ".join(w.message for w in advice.warnings
                                                    if w.code in (WarningCode.OVER_BUDGET,
                                                                  WarningCode.GPU_UNAVAILABLE)))
    if alternatives:
        label = "Next best" if remote_candidate else "Closest options over budget"
        sentences.append(f"{label}: " + ", ".join(
            f"{alt.candidate.provider.name} {alt.cost.display}" for alt in alternatives) + ".")
    return " ".join(sentences)


def _usd(amount: Decimal) -> str:
    """At least cents, more digits only when the price has them: $0.00, $0.46, $0.348."""
    return f"${amount:,.2f}" if amount == amount.quantize(CENT) else f"${amount:,}"


def _minutes(minutes: Decimal) -> str:
    """Minutes to the hundredth, without a trailing exponent or zeros: 60, 7.5, 0 (not 300 digits for 1e-300)."""
    return f"{minutes.quantize(HUNDREDTH, ROUND_HALF_UP).normalize():f}"


def _listed(names: Sequence[str], shown: int = 5) -> str:
    """A list for a message, cut after `shown` names: each of a thousand rejections repeats it."""
    if len(names) <= shown + 1:
        return ", ".join(names)
    return f"{', '.join(names[:shown])} and {len(names) - shown} more"
