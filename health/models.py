"""Models: the history of provider health checks (one row per check)."""
from django.db import models
from django.db.models import Q

from providers.models import Provider


class HealthStatus(models.TextChoices):
    OK = "ok", "OK"
    NO_CREDENTIALS = "no_credentials", "No credentials"
    AUTH_FAILED = "auth_failed", "Authentication failed"
    UNREACHABLE = "unreachable", "Unreachable"
    TIMEOUT = "timeout", "Timed out"
    MISCONFIGURED = "misconfigured", "Misconfigured"
    BLOCKED = "blocked", "Blocked by the outbound policy"
    ERROR = "error", "Error"


class CheckTrigger(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled sweep"
    MANUAL = "manual", "Check now (API or admin)"
    COMMAND = "command", "check_providers command"


class HealthCheck(models.Model):
    """One health check of one provider: the classified outcome only, never a response body or a secret.

    History is not audit: it goes with its provider when the provider is removed.
    """

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="health_checks",
                                 help_text="Provider that was checked.")
    service = models.CharField(max_length=64, help_text="Adapter used for the check, e.g. 'runpod'.")
    status = models.CharField(max_length=32, choices=HealthStatus.choices, help_text="Classified outcome.")
    latency_ms = models.PositiveIntegerField(null=True, blank=True, help_text="How long the check took.")
    http_status = models.PositiveSmallIntegerField(null=True, blank=True,
                                                   help_text="HTTP status of the deciding response, if any.")
    detail = models.CharField(max_length=200, blank=True,
                              help_text="Short sanitised explanation; never a response body or a credential.")
    trigger = models.CharField(max_length=16, choices=CheckTrigger.choices, default=CheckTrigger.SCHEDULED,
                               help_text="What started the check.")
    checked_at = models.DateTimeField(help_text="When the check finished.")

    class Meta:
        ordering = ("-checked_at", "-id")
        verbose_name = "health check"
        constraints = [
            models.CheckConstraint(condition=Q(status__in=HealthStatus.values),
                                   name="%(app_label)s_%(class)s_status_valid"),
            models.CheckConstraint(condition=Q(http_status__isnull=True) | Q(http_status__gte=100,
                                                                             http_status__lte=599),
                                   name="%(app_label)s_%(class)s_http_status_range"),
        ]
        indexes = [models.Index(fields=("provider", "-checked_at"), name="health_provider_checked_idx")]

    def __str__(self) -> str:
        return f"{self.provider_id} {self.status} at {self.checked_at:%Y-%m-%d %H:%M:%S}"

    @property
    def ok(self) -> bool:
        return self.status == HealthStatus.OK
