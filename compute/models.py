"""Models: the audit record of every (non-dry-run) advice."""
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class AdviceChoice(models.TextChoices):
    GPU = "gpu", "Local GPU"
    REMOTE = "remote", "Remote provider"
    CPU = "cpu", "CPU"


class JobSummary(models.Model):
    """What the advisor recommended for one job, with the exact price and offer it used.

    The provider is stored as text with a snapshot of its name, not as a foreign key: deleting or replacing a
    provider must leave its audit trail readable (reference/reliability.md §6 item 2e; skypilot #2780).
    Advice stores it with comfyvn_site.db.repeated_insert, not save(): a save() override or a signal receiver added
    here would not run there.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, help_text="Job summary id.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, help_text="When the advice was given.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="job_summaries", help_text="Who asked for the advice.")
    source = models.CharField(max_length=64, blank=True,
                              help_text="Caller-declared origin, e.g. 'scheduler', 'importer', 'cli'.")
    choice = models.CharField(max_length=16, choices=AdviceChoice.choices, help_text="Where the job should run.")
    provider_id = models.CharField(max_length=64, blank=True,
                                   help_text="Recommended remote provider id (empty unless the choice is remote).")
    provider_name = models.CharField(max_length=200, blank=True, help_text="The provider's name at advice time.")
    offer = models.JSONField(default=dict, blank=True,
                             help_text="The offer and price used: offer id, GPU, VRAM, hourly price, increment.")
    estimated_cost_usd = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True,
                                             help_text="Billing-accurate estimate for the chosen remote.")
    billed_minutes = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True,
                                         help_text="Runtime rounded up to the provider's billing increment.")
    policy_hint = models.TextField(blank=True, help_text="The provider's hint for this workload type.")
    min_vram_gb = models.FloatField(null=True, blank=True, help_text="VRAM floor the advisor applied.")
    asset_total_mb = models.FloatField(default=0, help_text="Total size of the workload's assets.")
    warnings = models.JSONField(default=list, blank=True,
                                help_text="Warnings given with the advice: [{code, message}].")
    reason = models.TextField(blank=True, help_text="The advisor's explanation.")
    workload = models.JSONField(default=dict, blank=True,
                                help_text="The sanitised workload: only the fields the advisor understood.")
    analysis = models.JSONField(default=dict, blank=True, help_text="The advisor's analysis of the workload.")
    idempotency_key = models.CharField(max_length=128, blank=True,
                                       help_text="Client-chosen key: repeating a request with it returns this summary.")
    request_fingerprint = models.CharField(max_length=64, blank=True,
                                           help_text="SHA-256 of the request, to refuse a key reused for another one.")

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = "job summary"
        verbose_name_plural = "job summaries"
        # Plain indexes for the list's exact filters. db_index on a CharField would add a second, pattern-ops index
        # on PostgreSQL that no query uses and every advice would pay to update.
        indexes = [models.Index(fields=("provider_id",), name="compute_job_provider_idx"),
                   models.Index(fields=("source",), name="compute_job_source_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(choice__in=AdviceChoice.values),
                                   name="%(app_label)s_%(class)s_choice_valid"),
            models.CheckConstraint(condition=Q(estimated_cost_usd__isnull=True) | Q(estimated_cost_usd__gte=0),
                                   name="%(app_label)s_%(class)s_cost_gte_0"),
            models.UniqueConstraint(fields=("user", "idempotency_key"), condition=~Q(idempotency_key=""),
                                    name="%(app_label)s_%(class)s_unique_user_idempotency_key"),
        ]

    def __str__(self) -> str:
        return f"{self.provider_id or self.choice} ({self.source or 'api'}) {self.id}"
