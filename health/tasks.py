"""Celery tasks: thin wrappers that take ids and call health.services."""
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError

from comfyvn_site.exceptions import Conflict, ProviderNotFound
from health.adapters import CheckResult
from health.models import CheckTrigger, HealthStatus
from health.services import TransientCheckError, health_check_record, health_sweep_run, provider_health_check

# Limits stay far below the Redis visibility_timeout (3600 s) so a late ack never causes a redelivery loop,
# and the soft limit stays above HEALTH_DEADLINE so the check's own deadline fires first.
CHECK_SOFT_TIME_LIMIT = 45
CHECK_TIME_LIMIT = 60
SWEEP_SOFT_TIME_LIMIT = 600
SWEEP_TIME_LIMIT = 660


@shared_task(bind=True, acks_late=True, autoretry_for=(TransientCheckError, OperationalError, InterfaceError),
             retry_backoff=2, retry_backoff_max=60, retry_jitter=True, max_retries=3,
             soft_time_limit=CHECK_SOFT_TIME_LIMIT, time_limit=CHECK_TIME_LIMIT, ignore_result=True)
def check_provider(self, provider_id: str) -> None:
    """Check one provider; network failures are retried with backoff and recorded once, on the last try."""
    try:
        provider_health_check(provider_id=provider_id, trigger=CheckTrigger.MANUAL,
                              retry_transient=self.request.retries < self.max_retries)
    except (Conflict, ProviderNotFound):
        return  # another check is running, or the provider is gone: nothing to do (idempotent)
    except SoftTimeLimitExceeded:
        health_check_record(provider_id=provider_id, trigger=CheckTrigger.MANUAL,
                            result=CheckResult(HealthStatus.TIMEOUT, "task time limit reached"))


@shared_task(acks_late=True, soft_time_limit=SWEEP_SOFT_TIME_LIMIT, time_limit=SWEEP_TIME_LIMIT, ignore_result=True)
def sweep_health() -> dict:
    """Periodic sweep over every active provider (scheduled by `setup_periodic_tasks`)."""
    report = health_sweep_run(trigger=CheckTrigger.SCHEDULED)
    return {"checked": len(report.checks), "skipped": len(report.skipped), "seconds": round(report.seconds, 2)}
