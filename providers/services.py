"""Services: every write to the template catalog and the provider registry goes through here."""
import json
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from providers.models import LOCAL_PROVIDER_ID, Provider, ProviderKind, ProviderTemplate

TEMPLATES_FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "provider_templates.json"
_TEMPLATE_FIELDS = ("name", "kind", "service", "base_url", "priority", "docs_url", "compatibility_note", "meta",
                    "auth_schema")


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def provider_template_specs_load(path: Path = TEMPLATES_FIXTURE) -> list[dict]:
    """Read the curated template file; its natural key is `id`, it holds no database keys."""
    return json.loads(Path(path).read_text())["templates"]


@transaction.atomic
def provider_template_sync(*, specs: list[dict], dry_run: bool = False) -> SyncReport:
    """Validate every template, then upsert by id; a second run with the same specs changes nothing."""
    report = SyncReport()
    existing = {t.id: t for t in ProviderTemplate.objects.all()}
    pending: list[ProviderTemplate] = []
    for spec in specs:
        template = existing.get(spec["id"]) or ProviderTemplate(id=spec["id"])
        before = {name: getattr(template, name) for name in _TEMPLATE_FIELDS} if template.id in existing else None
        for name in _TEMPLATE_FIELDS:
            setattr(template, name, spec.get(name, template._meta.get_field(name).get_default()))
        template.full_clean()
        after = {name: getattr(template, name) for name in _TEMPLATE_FIELDS}
        if before is None:
            report.created.append(template.id)
        elif before != after:
            report.updated.append(template.id)
        else:
            report.unchanged.append(template.id)
            continue
        pending.append(template)
    if not dry_run:
        for template in pending:
            template.save()
        local_provider_ensure()
    return report


def local_provider_ensure() -> Provider | None:
    """The built-in `local` provider always exists once its template does."""
    template = ProviderTemplate.objects.filter(id=LOCAL_PROVIDER_ID).first()
    if template is None or Provider.objects.filter(id=LOCAL_PROVIDER_ID).exists():
        return None
    provider = Provider(id=LOCAL_PROVIDER_ID, name=template.name, kind=ProviderKind.LOCAL, service=template.service,
                        base_url=template.base_url, priority=template.priority, meta=dict(template.meta),
                        template=template)
    provider.full_clean()
    provider.save()
    return provider
