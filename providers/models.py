"""Models: curated provider templates and the provider registry (data and invariants, no workflows)."""
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from providers.validation import base_url_policy_validate, base_url_validate, meta_validate

LOCAL_PROVIDER_ID = "local"
# Path segments of the registry API; a provider with one of these ids could not be addressed by URL.
RESERVED_PROVIDER_IDS = frozenset({"templates", "create", "register", "import", "export", "remove", "health",
                                   "checks", "list"})


class ProviderKind(models.TextChoices):
    LOCAL = "local", "Local"
    REMOTE = "remote", "Remote"


class ProviderTemplate(models.Model):
    """A curated provider profile (fixtures/provider_templates.json) that registry entries are created from."""

    id = models.SlugField(primary_key=True, max_length=64, help_text="Stable template id, e.g. 'runpod'.")
    name = models.CharField(max_length=200, help_text="Display name.")
    kind = models.CharField(max_length=16, choices=ProviderKind.choices, help_text="Local machine or remote service.")
    service = models.CharField(max_length=64, help_text="Service adapter key used for health checks, e.g. 'runpod'.")
    base_url = models.CharField(max_length=2048, help_text="Default API base URL for this service.")
    priority = models.IntegerField(default=100, help_text="Default priority; lower numbers are considered first.")
    docs_url = models.URLField(max_length=500, blank=True, help_text="Vendor documentation for auth and API.")
    compatibility_note = models.TextField(blank=True, help_text="What to know before integrating this provider.")
    meta = models.JSONField(default=dict, blank=True,
                            help_text="Default capability and cost metadata copied into providers made from it.")
    auth_schema = models.JSONField(default=dict, blank=True,
                                   help_text="JSON Schema of the provider config; credentials are writeOnly.")
    updated_at = models.DateTimeField(auto_now=True, help_text="When the template was last synced.")

    class Meta:
        ordering = ("priority", "id")
        verbose_name = "provider template"
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ProviderKind.values),
                                   name="%(app_label)s_%(class)s_kind_valid"),
            models.CheckConstraint(condition=Q(priority__gte=0), name="%(app_label)s_%(class)s_priority_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class Provider(models.Model):
    """A registry entry: where jobs can run, what it offers, and how to reach it.

    Non-secret settings live in `config`; credentials live encrypted in `secrets_ciphertext`
    (see providers/secrets.py) and never leave the service in clear text.
    """

    id = models.SlugField(primary_key=True, max_length=64, help_text="Stable id (slug), e.g. 'runpod' or 'runpod-eu'.")
    name = models.CharField(max_length=200, help_text="Display name.")
    kind = models.CharField(max_length=16, choices=ProviderKind.choices, default=ProviderKind.REMOTE,
                            help_text="Local machine or remote service.")
    service = models.CharField(max_length=64, help_text="Service adapter key, e.g. 'runpod', 'aws', 'ssh'.")
    base_url = models.CharField(max_length=2048,
                                help_text="API base URL (http/https; ssh:// for the ssh service); no user:password.")
    active = models.BooleanField(default=True, help_text="Inactive providers are never recommended.")
    priority = models.IntegerField(default=100, validators=[MinValueValidator(0)],
                                   help_text="Lower numbers are considered first; ties break by id.")
    meta = models.JSONField(default=dict, blank=True,
                            help_text="Capabilities and cost: VRAM range, cost.hourly_usd, billing increment, regions…")
    config = models.JSONField(default=dict, blank=True,
                              help_text="Non-secret settings, validated by the template schema.")
    secrets_ciphertext = models.TextField(blank=True, default="",
                                          help_text="Fernet-encrypted credentials; never shown or exported in clear.")
    secrets_set = models.JSONField(default=list, blank=True,
                                   help_text="Names of the stored credentials (never their values), so listing "
                                             "the registry needs neither the key nor the plaintext.")
    template = models.ForeignKey(ProviderTemplate, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="providers", help_text="Curated template this entry was made from.")
    last_health = models.JSONField(default=dict, blank=True,
                                   help_text="Result of the latest health check: status, ok, latency_ms, detail.")
    last_checked_at = models.DateTimeField(null=True, blank=True, help_text="When the latest health check ran.")
    consecutive_failures = models.PositiveIntegerField(default=0, help_text="Failed health checks in a row.")
    created_at = models.DateTimeField(auto_now_add=True, help_text="When the entry was created.")
    updated_at = models.DateTimeField(auto_now=True, help_text="When the entry was last changed.")

    class Meta:
        ordering = ("priority", "id")
        verbose_name = "provider"
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ProviderKind.values),
                                   name="%(app_label)s_%(class)s_kind_valid"),
            models.CheckConstraint(condition=Q(priority__gte=0), name="%(app_label)s_%(class)s_priority_gte_0"),
            models.CheckConstraint(condition=~Q(id=LOCAL_PROVIDER_ID) | Q(kind=ProviderKind.LOCAL),
                                   name="%(app_label)s_%(class)s_local_is_local"),
        ]
        indexes = [models.Index(fields=("active", "kind"), name="providers_active_kind_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"

    def clean(self) -> None:
        """Row invariants the database cannot check: URL shape, meta types, reserved ids, `local` stays local."""
        errors = {}
        checks = [lambda: meta_validate(self.meta)]
        if self.base_url:
            checks.append(lambda: base_url_validate(self.base_url, service=self.service))
        for check in checks:
            try:
                check()
            except ValidationError as exc:
                errors.update(exc.message_dict)
        if self.base_url and "base_url" not in errors:
            try:
                base_url_policy_validate(self.base_url, service=self.service, meta=self.meta)
            except ValidationError as exc:
                errors.update(exc.message_dict)
        if self.id in RESERVED_PROVIDER_IDS:
            errors["id"] = [f"'{self.id}' is reserved by the API; choose another id."]
        if self.id == LOCAL_PROVIDER_ID and self.kind != ProviderKind.LOCAL:
            errors["kind"] = ["The built-in local provider cannot be made remote."]
        if errors:
            raise ValidationError(errors)

    @property
    def health_state(self) -> str:
        """'unverified' until a check ran, then 'healthy' or 'unhealthy' from the latest check."""
        if self.last_checked_at is None:
            return "unverified"
        return "healthy" if self.last_health.get("ok") is True else "unhealthy"

    @property
    def available(self) -> bool:
        """The guide's checklist: available only once a health check has succeeded."""
        return self.health_state == "healthy"
