"""Services: give advice (registry candidates + local GPUs → pure advisor) and record it as a job summary."""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction

from catalog.selectors import OfferNeed
from comfyvn_site.db import repeated_insert
from comfyvn_site.exceptions import Conflict
from compute.advisor import advise_analysed, workload_analyse
from compute.candidate_cache import IdentityMemo
from compute.models import JobSummary
from compute.selectors import (
    AdviceInputs,
    advice_inputs,
    advice_inputs_kept,
    data_versions_last_seen,
    data_versions_unchanged,
)
from compute.types import Advice, Choice, WorkloadAnalysis, WorkloadSpec

# The advisor is pure, so the same question (analysis, flags) over the same candidates and local GPUs (advice_inputs
# hands out the same two tuples until the registry or the inventory changes) has the same answer. Schedulers ask
# the same few questions over and over; each answer holds one rejection per ineligible candidate, so few are kept.
_ADVICE = IdentityMemo(maxsize=32)


@dataclass(frozen=True)
class AdviceResult:
    advice: Advice
    summary: JobSummary


def advice_create(*, workload: WorkloadSpec, prefer_remote: bool = False, hardware_override: bool = False,
                  dry_run: bool = False, source: str = "api", user: AbstractBaseUser | None = None,
                  idempotency_key: str = "") -> AdviceResult:
    """Advise where the job should run and, unless `dry_run`, store the job summary.

    No transaction around it: the reads need no snapshot (the candidate cache is exact on its own) and the summary
    is one INSERT, so BEGIN and COMMIT would only add two round trips to every advice.

    With an `idempotency_key`, repeating the same request returns the summary recorded the first time (one row,
    one job id; the advice itself is recomputed); reusing the key for a different request is a Conflict.

    The summary is committed before the answer, but only a keyed one (or any, with COMFYVN_JOB_SUMMARY_DURABLE)
    waits for the disk flush: a client that keys its request is told that a retry finds this job, so its row must
    outlive a database crash, while an unkeyed retry stores a new summary anyway. Waiting for the flush is the largest
    single cost of an advice over HTTP (docs/PERFORMANCE.md); what an unflushed summary risks is in docs/ADVISOR.md.
    """
    user = user if user is not None and user.is_authenticated else None
    analysis = workload_analyse(workload)
    question = (analysis, prefer_remote, hardware_override)
    keyed = bool(idempotency_key) and user is not None
    need = offer_need(analysis)
    if not dry_run and not keyed and (seen := data_versions_last_seen()) is not None \
            and (kept := advice_inputs_kept(need=need, versions=seen)) is not None:
        # Advise from what was kept under the data versions last read, and store the summary only if they are still
        # current, checked by the INSERT itself: one round trip instead of two while nothing changes. If something
        # did, nothing is stored and the advice is given again from the versions as they now are.
        advice = _advice_for(question, kept)
        summary = _job_summary_build(advice=advice, workload=workload, source=source, user=user)
        if repeated_insert(summary, durable=settings.COMFYVN_JOB_SUMMARY_DURABLE,
                           only_if=data_versions_unchanged(seen)):
            return AdviceResult(advice=advice, summary=summary)
    advice = _advice_for(question, advice_inputs(need=need))
    summary = _job_summary_build(advice=advice, workload=workload, source=source, user=user)
    if dry_run:
        return AdviceResult(advice=advice, summary=summary)
    if keyed:
        summary.idempotency_key = idempotency_key
        summary.request_fingerprint = _fingerprint(summary.workload, prefer_remote, hardware_override, source)
        try:
            with transaction.atomic():
                repeated_insert(summary)  # durable: a keyed summary must outlive a crash
        except IntegrityError:
            summary = _job_summary_replayed(user=user, key=idempotency_key, fingerprint=summary.request_fingerprint)
        return AdviceResult(advice=advice, summary=summary)
    repeated_insert(summary, durable=settings.COMFYVN_JOB_SUMMARY_DURABLE)
    return AdviceResult(advice=advice, summary=summary)


def _advice_for(question: tuple[WorkloadAnalysis, bool, bool], inputs: AdviceInputs) -> Advice:
    analysis, prefer_remote, hardware_override = question
    candidates, local_gpus = inputs
    advice = _ADVICE.get((candidates, local_gpus), question)
    if advice is None:
        advice = advise_analysed(analysis, candidates, local_gpus, prefer_remote=prefer_remote,
                                 hardware_override=hardware_override)
        _ADVICE.put((candidates, local_gpus), question, advice)
    return advice


def offer_need(analysis: WorkloadAnalysis) -> OfferNeed:
    """What the catalog query must filter on, so only offers that can run the workload are loaded."""
    return OfferNeed(min_vram_per_gpu_gb=analysis.min_vram_gb or None, gpu_count=analysis.gpu_count,
                     min_total_vram_gb=analysis.min_total_vram_gb, regions=analysis.residency_regions)


def _fingerprint(workload: dict, prefer_remote: bool, hardware_override: bool, source: str) -> str:
    request = [workload, prefer_remote, hardware_override, source]
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def _job_summary_replayed(*, user: AbstractBaseUser, key: str, fingerprint: str) -> JobSummary:
    original = JobSummary.objects.get(user=user, idempotency_key=key)
    if original.request_fingerprint != fingerprint:
        raise Conflict("This Idempotency-Key was already used for a different advise request.",
                       code="idempotency_key_reused", extra={"job_summary": str(original.id)})
    return original


def _job_summary_build(*, advice: Advice, workload: WorkloadSpec, source: str,
                       user: AbstractBaseUser | None) -> JobSummary:
    recorded = _RECORDED.get((advice,))
    if recorded is None:
        recorded = _advice_recorded(advice)
        _RECORDED.put((advice,), None, recorded)
    summary = JobSummary(user=user, source=source, workload=workload_sanitise(workload), **recorded)
    # Field validation only: the database enforces the constraints, and per-constraint and FK lookups would add 5
    # queries to each advice. The advice's own fields were validated once, when they were recorded.
    summary.clean_fields(exclude={"user", *recorded})
    return summary


# What a job summary takes from the advice alone, kept per Advice object as its rendering is (compute/serializers.py):
# the summaries of a repeated question differ only in id, time, user, source and the workload as written. The values
# are shared between summaries, so nothing may change them.
_RECORDED = IdentityMemo(maxsize=32)


def _advice_recorded(advice: Advice) -> dict[str, Any]:
    chosen = advice.chosen_remote
    analysis = advice.analysis
    recorded = {
        "choice": advice.choice, "policy_hint": (chosen.policy_hint or "") if chosen else "",
        "min_vram_gb": analysis.min_vram_gb, "asset_total_mb": round(analysis.total_asset_mb, 2),
        "warnings": [{"code": w.code.value, "message": w.message} for w in advice.warnings],
        "reason": advice.reason, "analysis": _jsonable(analysis),
    }
    if chosen:
        offer = chosen.candidate.offer
        recorded.update(provider_id=chosen.candidate.provider.id, provider_name=chosen.candidate.provider.name,
                        estimated_cost_usd=chosen.cost.estimated_cost_usd, billed_minutes=chosen.cost.billed_minutes,
                        offer={**_jsonable(offer), "regions": list(chosen.candidate.regions)})
    elif advice.choice == Choice.GPU and advice.local_candidate:
        recorded["offer"] = {"local_gpu": _jsonable(advice.local_candidate)}
    JobSummary(**recorded).clean_fields(exclude={field.name for field in JobSummary._meta.fields} - set(recorded))
    return recorded


def workload_sanitise(workload: WorkloadSpec) -> dict[str, Any]:
    """The workload as the advisor understood it: unknown keys (and anything pasted into them) are not stored."""
    return _jsonable(workload)


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _jsonable(value: Any) -> Any:
    """Dataclasses → JSON: Decimals as strings (exact), datetimes as ISO text, tuples/sets as lists.

    Walks dataclasses itself rather than through dataclasses.asdict, which deep-copies every value first (a third of
    building a job summary).
    """
    kind = type(value)
    if kind in _PLAIN:
        return value
    if hasattr(kind, "__dataclass_fields__"):
        return {name: _jsonable(getattr(value, name)) for name in _field_names(kind)}
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        items = [_jsonable(item) for item in value]
        return sorted(items) if isinstance(value, frozenset | set) else items
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


@functools.cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(field.name for field in fields(kind))
