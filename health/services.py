"""Services: run health checks, record them, sweep the registry and enqueue checks for the worker."""
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from queue import Empty, Queue

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from comfyvn_site.exceptions import Conflict, ProviderNotFound, SecretsKeyError, ServiceUnavailable
from health import outbound
from health.adapters import ADAPTERS, CheckFailed, CheckResult, ProviderTarget
from health.models import CheckTrigger, HealthCheck, HealthStatus
from providers.models import Provider
from providers.secrets import decrypt_secrets, resolve_secret
from providers.selectors import provider_get

logger = logging.getLogger(__name__)

_HEALTH_FIELDS = ("last_health", "last_checked_at", "consecutive_failures")
# SQLite (the embedded default) has one writer and ignores select_for_update: sweep threads take turns to write.
_sqlite_write_lock = threading.Lock()
# Outcomes worth another try a little later (reliability.md §4.1 rule 4): the network, not the credentials.
_TRANSIENT_HTTP = {429, 502, 503, 504}


class TransientCheckError(Exception):
    """A check failed in a way a retry may fix; raised (instead of recording) while retries remain."""

    def __init__(self, result: CheckResult):
        super().__init__(f"{result.status}: {result.detail}")
        self.result = result


def is_transient(result: CheckResult) -> bool:
    return result.status in (HealthStatus.UNREACHABLE, HealthStatus.TIMEOUT) or (
        result.status == HealthStatus.ERROR and result.http_status in _TRANSIENT_HTTP)


def provider_target(*, provider: Provider) -> ProviderTarget:
    """The adapter's view of a provider: config, overrides and resolved credentials (env references followed)."""
    secrets = {name: resolve_secret(value) for name, value in decrypt_secrets(provider.secrets_ciphertext).items()}
    overrides = (provider.meta or {}).get("health") or {}
    return ProviderTarget(provider_id=provider.id, service=provider.service, base_url=provider.base_url or "",
                          config=dict(provider.config or {}), secrets=secrets,
                          overrides=overrides if isinstance(overrides, dict) else {})


def provider_health_probe(*, provider: Provider) -> CheckResult:
    """Run the provider's adapter once and classify the outcome; no database writes."""
    started = time.monotonic()
    result = _probe(provider)
    latency = int((time.monotonic() - started) * 1000)
    return CheckResult(status=str(result.status), detail=result.detail[:200], http_status=result.http_status,
                       latency_ms=latency)


def _probe(provider: Provider) -> CheckResult:
    adapter = ADAPTERS.get(provider.service)
    if adapter is None:
        return CheckResult(HealthStatus.MISCONFIGURED, f"no health check for service '{provider.service}'")
    try:
        target = provider_target(provider=provider)
        overrides_ports = target.overrides.get("allowed_ports") or []
        client = outbound.Client(outbound.policy_for(service=provider.service, extra_ports=overrides_ports))
        return adapter(target, client)
    except SecretsKeyError:
        return CheckResult(HealthStatus.MISCONFIGURED, "stored credentials cannot be decrypted (COMFYVN_SECRETS_KEY)")
    except CheckFailed as exc:
        return exc.result
    except outbound.OutboundError as exc:
        return CheckResult(exc.status, exc.detail, exc.http_status)
    except (ValueError, TypeError) as exc:
        return CheckResult(HealthStatus.MISCONFIGURED, f"provider settings are invalid ({type(exc).__name__})")
    except SoftTimeLimitExceeded:
        raise  # the task's time limit, not an adapter bug: check_provider records it as a timeout
    except Exception as exc:  # noqa: BLE001 - an adapter bug must become an 'error' row, not kill the sweep
        # Only the exception type is logged: messages from HTTP/SSH libraries can quote request data.
        logger.error("health adapter %s failed for %s: %s", provider.service, provider.id, type(exc).__name__)
        return CheckResult(HealthStatus.ERROR, f"unexpected failure ({type(exc).__name__})")


@transaction.atomic
def health_check_record(*, provider_id: str, result: CheckResult, trigger: str) -> HealthCheck:
    """Store one check and update the provider's health fields under a row lock (two workers may race)."""
    provider = provider_get(provider_id=provider_id, queryset=Provider.objects.select_for_update())
    now = timezone.now()
    check = HealthCheck(provider=provider, service=provider.service, status=result.status,
                        latency_ms=result.latency_ms, http_status=result.http_status, detail=result.detail[:200],
                        trigger=trigger, checked_at=now)
    check.full_clean()
    check.save()
    provider.last_health = {"status": result.status, "ok": result.ok, "latency_ms": result.latency_ms,
                            "http_status": result.http_status, "detail": check.detail,
                            "checked_at": now.isoformat()}
    provider.last_checked_at = now
    provider.consecutive_failures = 0 if result.ok else provider.consecutive_failures + 1
    provider.full_clean(exclude=[f.name for f in Provider._meta.fields if f.name not in _HEALTH_FIELDS],
                        validate_unique=False, validate_constraints=False)
    provider.save(update_fields=[*_HEALTH_FIELDS, "updated_at"])
    return check


@contextmanager
def _provider_lock(provider_id: str) -> Iterator[bool]:
    """One check per provider at a time (Celery cookbook lock; shared when CACHE_URL is Redis)."""
    key = f"health:check:{provider_id}"
    acquired = cache.add(key, "1", timeout=int(settings.HEALTH_DEADLINE) + 30)
    try:
        yield acquired
    finally:
        if acquired:
            cache.delete(key)


def provider_health_check(*, provider_id: str, trigger: str = CheckTrigger.MANUAL,
                          retry_transient: bool = False) -> HealthCheck:
    """Check a provider now and record the result.

    Raises Conflict when a check of the same provider is already running. With `retry_transient`, a network
    failure raises TransientCheckError without recording, so the task's retry makes the one recorded row.
    """
    provider = provider_get(provider_id=provider_id)
    with _provider_lock(provider_id) as acquired:
        if not acquired:
            raise Conflict(f"A health check of '{provider_id}' is already running.", code="check_running")
        result = provider_health_probe(provider=provider)
        if retry_transient and is_transient(result):
            raise TransientCheckError(result)
        if connection.vendor == "sqlite":
            with _sqlite_write_lock:
                return health_check_record(provider_id=provider_id, result=result, trigger=trigger)
        return health_check_record(provider_id=provider_id, result=result, trigger=trigger)


@dataclass
class SweepReport:
    checks: list[HealthCheck] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def counts(self) -> Counter:
        return Counter(check.status for check in self.checks)


def health_sweep_run(*, provider_ids: list[str] | None = None, trigger: str = CheckTrigger.SCHEDULED,
                     concurrency: int | None = None,
                     on_done: Callable[[str, HealthCheck | None], None] | None = None) -> SweepReport:
    """Check the active providers (or the given ids) with bounded concurrency and record every result.

    Checks wait on the network, so threads overlap them: 500 providers with 5% hanging finish in about
    (n x latency + hangs x read timeout) / concurrency. Each thread works through a shared queue and keeps
    one database connection, closed when it runs out of work. `on_done` runs in the calling thread.
    """
    queryset = Provider.objects.order_by("priority", "id")
    queryset = queryset.filter(pk__in=provider_ids) if provider_ids is not None else queryset.filter(active=True)
    ids = list(queryset.values_list("id", flat=True))
    workers = max(1, min(concurrency or settings.HEALTH_SWEEP_CONCURRENCY, len(ids) or 1))
    report = SweepReport()
    started = time.monotonic()
    todo: Queue[str] = Queue()
    done: Queue[tuple[str, HealthCheck | None, Exception | None]] = Queue()
    for provider_id in ids:
        todo.put(provider_id)

    def check(provider_id: str) -> HealthCheck | None:
        try:
            return provider_health_check(provider_id=provider_id, trigger=trigger)
        except (Conflict, ProviderNotFound):
            return None

    def work() -> None:
        try:
            while True:
                try:
                    provider_id = todo.get_nowait()
                except Empty:
                    return
                try:
                    done.put((provider_id, check(provider_id), None))
                except Exception as exc:  # noqa: BLE001 - handed to the caller's thread and re-raised there
                    done.put((provider_id, None, exc))
        finally:
            connection.close()

    if workers == 1:
        results = ((provider_id, check(provider_id), None) for provider_id in ids)
    else:
        threads = [threading.Thread(target=work, name=f"health-sweep-{n}", daemon=True) for n in range(workers)]
        for thread in threads:
            thread.start()
        results = (done.get() for _ in ids)
    for provider_id, check_row, error in results:
        if error is not None:
            raise error
        if check_row is None:
            report.skipped.append(provider_id)
        else:
            report.checks.append(check_row)
        if on_done is not None:
            on_done(provider_id, check_row)
    report.seconds = time.monotonic() - started
    return report


def provider_health_check_enqueue(*, provider_id: str) -> None:
    """Queue a check for the worker once the surrounding transaction commits; a broken broker is a fast 503."""
    provider_get(provider_id=provider_id, queryset=Provider.objects.only("id"))
    transaction.on_commit(lambda: _publish_check(provider_id))


def _publish_check(provider_id: str) -> None:
    from kombu.exceptions import OperationalError as BrokerError

    from health.tasks import check_provider

    try:
        check_provider.apply_async(args=[provider_id], expires=settings.HEALTH_SWEEP_INTERVAL_SECONDS, retry=False)
    except (BrokerError, OSError) as exc:
        logger.warning("health check of %s not queued: broker unavailable (%s)", provider_id, type(exc).__name__)
        raise ServiceUnavailable("The task queue is unavailable; run the check synchronously or retry later.",
                                 code="broker_unavailable") from exc
