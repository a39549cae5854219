"""Services: every write to the template catalog and the provider registry goes through here."""
import json
import logging
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from comfyvn_site.exceptions import Conflict, ImportInvalid, ProviderProtected, SecretExportForbidden
from providers.models import (
    LOCAL_PROVIDER_ID,
    RESERVED_PROVIDER_IDS,
    Provider,
    ProviderKind,
    ProviderTemplate,
)
from providers.secrets import decrypt_secrets, encrypt_secrets, is_env_reference, secret_fields
from providers.selectors import provider_get, provider_list
from providers.validation import ENV_REFERENCE_SCHEMA, deep_merge, schema_errors

audit_logger = logging.getLogger("providers.audit")

TEMPLATES_FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "provider_templates.json"
_TEMPLATE_FIELDS = ("name", "kind", "service", "base_url", "priority", "docs_url", "compatibility_note", "meta",
                    "auth_schema")
EXPORT_VERSION = 1
# Any fixed bigint shared by every registry writer (pg_advisory_xact_lock); the bytes spell "comfyvn".
_REGISTRY_LOCK_KEY = 0x636F6D6679766E
_FIELDS = ("name", "kind", "service", "base_url", "active", "priority")
_FIELD_TYPES = {"id": str, "name": str, "kind": str, "service": str, "base_url": str, "active": bool, "priority": int}
_TYPE_NAMES = {str: "string", bool: "boolean", int: "integer"}
_DEFINITION_KEYS = frozenset({"id", "template", "meta", "config", *_FIELDS})
# Keys that registry entries carry in API responses: accepted in an import file and ignored.
_OUTPUT_ONLY_KEYS = frozenset({"secrets_set", "health", "available", "last_health", "last_checked_at",
                               "consecutive_failures", "created_at", "updated_at"})
# Columns a registry write may change; health fields belong to the health checker and are never rewritten here.
_WRITE_FIELDS = (*_FIELDS, "template", "meta", "config", "secrets_ciphertext", "secrets_set", "updated_at")
_NO_TEMPLATE_SCHEMA = {"type": "object", "properties": {}, "additionalProperties": False}
_SLUG_SUFFIX_ROOM = 6  # "-99999"


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
    provider = _provider_new(LOCAL_PROVIDER_ID, template)
    provider.kind, provider.template = ProviderKind.LOCAL, template
    provider.full_clean()
    provider.save()
    return provider


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _registry_lock() -> None:
    """Serialise registry writers so that reads made to validate a write are still true when it commits.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: writers are already serialised, because every
    transaction begins IMMEDIATE (settings/base.py).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_REGISTRY_LOCK_KEY])


def _row(provider: Provider) -> tuple:
    """The columns a registry write may change, to skip rewriting entries an import leaves as they are."""
    return tuple(provider.template_id if name == "template" else getattr(provider, name)
                 for name in _WRITE_FIELDS if name != "updated_at")


def _error_dict(exc: ValidationError) -> dict:
    return exc.message_dict if hasattr(exc, "error_dict") else {"entry": exc.messages}


def _config_apply(provider: Provider, config, *, template: ProviderTemplate | None, merge: bool) -> None:
    """Split `config` into settings and credentials (the schema's writeOnly properties), validate, encrypt.

    An omitted credential keeps its stored value and null clears it, so a secret-stripped export re-imports
    without losing anything. Settings are merged (PATCH) or replaced (full definitions); null removes one.
    Credentials the template does not define (after a template change) are dropped.
    """
    if not isinstance(config, dict):
        raise ValidationError({"config": "must be a JSON object"})
    schema = template.auth_schema if template is not None else _NO_TEMPLATE_SCHEMA
    names = secret_fields(schema)
    given = {name: value for name, value in config.items() if name in names}
    plain = dict(provider.config) if merge else {}
    plain.update({name: value for name, value in config.items() if name not in names})
    plain = {name: value for name, value in plain.items() if value is not None}
    references = {name: value for name, value in given.items() if isinstance(value, dict)}
    literals = {name: value for name, value in given.items() if value is not None and name not in references}
    errors = schema_errors({"type": "object", "additionalProperties": ENV_REFERENCE_SCHEMA}, references)
    errors += schema_errors(schema, {**plain, **literals}, relax_required=True)
    if errors:
        raise ValidationError({"config": errors})
    provider.config = plain
    if given or set(provider.secrets_set) - names:
        stored = decrypt_secrets(provider.secrets_ciphertext)
        secrets = {name: value for name, value in {**stored, **given}.items() if name in names and value is not None}
        if secrets != stored:  # re-importing the same credentials leaves the row untouched
            provider.secrets_ciphertext = encrypt_secrets(secrets)
            provider.secrets_set = sorted(secrets)


def _provider_apply(provider: Provider, changes: dict, *, template: ProviderTemplate | None, merge: bool) -> Provider:
    """Apply `changes` to an unsaved provider and validate the result, reporting every invalid field at once.

    `merge` (PATCH) deep-merges meta over the stored meta and config over the stored config; otherwise the
    given meta is deep-merged over the template defaults and the given config replaces the stored settings.
    `full_clean` skips the uniqueness and constraint queries: callers check ids under the registry lock, the
    check constraints are mirrored by field validators and `Provider.clean`, and the database still enforces them.
    """
    for name in _FIELDS:
        if name in changes:
            setattr(provider, name, changes[name])
    template_changed = provider.template_id != (template.id if template else None)
    provider.template = template
    if "meta" in changes:
        meta = changes["meta"]
        base = provider.meta if merge else (template.meta if template else {})
        provider.meta = deep_merge(base, meta) if isinstance(meta, dict) and isinstance(base, dict) else meta
    errors = {}
    if "config" in changes or template_changed:
        try:
            _config_apply(provider, changes.get("config", {}), template=template,
                          merge=merge or "config" not in changes)
        except ValidationError as exc:
            errors = exc.message_dict
    try:
        provider.full_clean(exclude=["template"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors = {**exc.message_dict, **errors}
    if errors:
        raise ValidationError(errors)
    return provider


def _provider_new(provider_id: str, template: ProviderTemplate | None) -> Provider:
    """An unsaved provider carrying its template's defaults."""
    if template is None:
        return Provider(id=provider_id)
    return Provider(id=provider_id, name=template.name, kind=template.kind, service=template.service,
                    base_url=template.base_url, priority=template.priority, meta=deepcopy(template.meta))


def _id_free(name: str) -> str:
    """A slug of `name` that no provider uses, suffixed -2, -3, ... on collision."""
    base = (slugify(name) or "provider")[:64]
    taken = set(Provider.objects.filter(id__startswith=base[:64 - _SLUG_SUFFIX_ROOM]).values_list("id", flat=True))
    taken |= RESERVED_PROVIDER_IDS
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        suffix = f"-{number}"
        candidate = base[:64 - len(suffix)] + suffix
    return candidate


def _definition_parse(entry) -> dict:
    """The definition keys of a registry entry, with JSON types checked; output-only keys are dropped."""
    if not isinstance(entry, dict):
        raise ValidationError({"entry": "must be a JSON object"})
    errors = {name[:64]: "unknown field" for name in sorted(set(entry) - _DEFINITION_KEYS - _OUTPUT_ONLY_KEYS)}
    for name, expected in _FIELD_TYPES.items():
        value = entry.get(name)
        if name in entry and (not isinstance(value, expected) or (expected is int and isinstance(value, bool))):
            errors[name] = f"must be a JSON {_TYPE_NAMES[expected]}"
    if "template" in entry and not isinstance(entry["template"], str | None):
        errors["template"] = "must be a template id or null"
    if errors:
        raise ValidationError(errors)
    return {name: value for name, value in entry.items() if name in _DEFINITION_KEYS}


def _definition_id(definition: dict) -> str:
    """The entry's id, else the slug of its name: a full definition upserts on it."""
    provider_id = definition.get("id") or slugify(definition.get("name") or "")[:64]
    if not provider_id:
        raise ValidationError({"id": "Give an id or a name."})
    return provider_id


def _definition_build(definition: dict, *, provider_id: str, current: Provider | None,
                      templates: dict[str, ProviderTemplate]) -> Provider:
    """The provider a full definition describes: an update of `current`, or a new entry from its template.

    The template is the named one, else the current one, else the template of the same service.
    """
    if "template" in definition:
        template = templates.get(definition["template"]) if definition["template"] is not None else None
        if definition["template"] is not None and template is None:
            raise ValidationError({"template": "unknown template id"})
    elif current is not None:
        template = templates.get(current.template_id)
    else:
        template = next((t for t in templates.values() if t.service == definition.get("service")), None)
    provider = current if current is not None else _provider_new(provider_id, template)
    return _provider_apply(provider, definition, template=template, merge=False)


@transaction.atomic
def provider_create(*, template_id: str, provider_id: str | None = None, name: str | None = None,
                    base_url: str | None = None, config: dict | None = None, meta: dict | None = None,
                    priority: int | None = None, active: bool | None = None, dry_run: bool = False) -> Provider:
    """Instantiate a provider from a curated template; given meta is deep-merged over the template's.

    Without an id the slug of the name is used, suffixed on collision; an explicit id that exists is a 409.
    `dry_run` validates everything and writes nothing (the admin form uses it to report errors inline).
    """
    _registry_lock()
    template = ProviderTemplate.objects.filter(id=template_id).first()
    if template is None:
        raise ValidationError({"template_id": f"Unknown template '{template_id}'."})
    if provider_id is not None and Provider.objects.filter(id=provider_id).exists():
        raise Conflict(f"A provider with id '{provider_id}' already exists.", code="provider_exists",
                       extra={"id": provider_id})
    changes = {key: value for key, value in {"name": name, "base_url": base_url, "priority": priority,
                                              "active": active, "meta": meta, "config": config}.items()
               if value is not None}
    provider = _provider_new(provider_id or _id_free(name or template.name), template)
    _provider_apply(provider, changes, template=template, merge=False)
    if not dry_run:
        provider.save(force_insert=True)
    return provider


@transaction.atomic
def provider_register(*, definition: dict, dry_run: bool = False) -> tuple[Provider, bool]:
    """Create or update a provider from a full definition (the GUI editor's upsert); True when created.

    Omitted fields keep their stored values (template defaults for a new entry); omitted credentials are kept.
    `dry_run` validates and writes nothing.
    """
    definition = _definition_parse(definition)
    provider_id = _definition_id(definition)
    _registry_lock()
    templates = {template.id: template for template in ProviderTemplate.objects.all()}
    current = Provider.objects.select_for_update().filter(id=provider_id).first()
    provider = _definition_build(definition, provider_id=provider_id, current=current, templates=templates)
    if not dry_run and current is None:
        provider.save(force_insert=True)
    elif not dry_run:
        provider.save(update_fields=_WRITE_FIELDS)
    return provider, current is None


@transaction.atomic
def provider_update(*, provider_id: str, changes: dict) -> Provider:
    """Partial update: meta and config merge over the stored values; an omitted credential is kept, null clears it."""
    _registry_lock()
    provider = provider_get(provider_id=provider_id,
                            queryset=Provider.objects.select_for_update(of=("self",)).select_related("template"))
    _provider_apply(provider, changes, template=provider.template, merge=True)
    provider.save(update_fields=_WRITE_FIELDS)
    return provider


@transaction.atomic
def provider_remove(*, provider_id: str) -> None:
    """Delete a registry entry; the built-in `local` provider is protected."""
    if provider_id == LOCAL_PROVIDER_ID:
        raise ProviderProtected("The built-in local provider cannot be removed.", extra={"id": provider_id})
    _registry_lock()
    provider_get(provider_id=provider_id).delete()


@transaction.atomic
def provider_import(*, entries: list, replace: bool = False, overwrite: bool = True,
                    dry_run: bool = False) -> ImportReport:
    """Validate every entry, then apply them all in this one transaction (or nothing, on any error).

    `overwrite=False` skips ids that exist; `replace=True` also removes providers absent from the file, never
    `local`. A credential missing from an entry keeps its stored value, so export -> import loses nothing.
    `updated` lists every existing entry the file overwrites; those it leaves as they are are not rewritten.
    """
    if replace and not entries:
        raise ValidationError({"providers": "replace=true with no providers would empty the registry; "
                                            "remove providers one by one instead."})
    _registry_lock()
    templates = {template.id: template for template in ProviderTemplate.objects.all()}
    existing = {provider.id: provider for provider in Provider.objects.all()}
    report, errors, seen = ImportReport(), [], {}
    to_create, to_update = [], []
    for index, entry in enumerate(entries):
        entry_id = entry.get("id") if isinstance(entry, dict) and isinstance(entry.get("id"), str) else None
        try:
            definition = _definition_parse(entry)
            entry_id = _definition_id(definition)
            if entry_id in seen:
                raise ValidationError({"id": f"duplicate of entry {seen[entry_id]}"})
            seen[entry_id] = index
            current = existing.get(entry_id)
            before = _row(current) if current is not None else None
            provider = _definition_build(definition, provider_id=entry_id, current=current, templates=templates)
        except ValidationError as exc:
            errors.append({"index": index, "id": entry_id, "errors": _error_dict(exc)})
            continue
        if current is None:
            report.created.append(entry_id)
            to_create.append(provider)
        elif overwrite:
            report.updated.append(entry_id)
            if _row(provider) != before:
                to_update.append(provider)
        else:
            report.skipped.append(entry_id)
    if errors:
        raise ImportInvalid(f"{len(errors)} of {len(entries)} provider entries are invalid; nothing was imported.",
                            extra={"errors": errors})
    if replace:
        report.removed = sorted(set(existing) - set(seen) - {LOCAL_PROVIDER_ID})
    if not dry_run:
        Provider.objects.bulk_create(to_create, batch_size=500)
        for provider in to_update:  # row by row: bulk_update's CASE expressions cost seconds per thousand rows
            provider.save(update_fields=_WRITE_FIELDS)
        Provider.objects.filter(id__in=report.removed).delete()
    return report


def _provider_definition(provider: Provider, *, include_secrets: bool) -> dict:
    """A registry entry as an importable definition. Environment references are kept (they name a variable,
    not a credential); literal credentials only when `include_secrets`."""
    secrets = decrypt_secrets(provider.secrets_ciphertext) if provider.secrets_set else {}
    shared = {name: value for name, value in secrets.items() if include_secrets or is_env_reference(value)}
    return {"id": provider.id, "name": provider.name, "kind": provider.kind, "service": provider.service,
            "base_url": provider.base_url, "active": provider.active, "priority": provider.priority,
            "template": provider.template_id, "meta": provider.meta, "config": {**provider.config, **shared}}


def provider_export(*, actor, include_secrets: bool = False, from_loopback: bool = False) -> dict:
    """The registry as an import document. Credentials only for staff AND (a loopback client OR
    COMFYVN_ALLOW_SECRET_EXPORT): a loopback peer alone is not enough (reliability.md finding 1).
    Every export is audited with who and how many credentials, never their values."""
    if include_secrets and not actor.is_staff:
        raise SecretExportForbidden("Exporting credentials requires a staff user.")
    if include_secrets and not (from_loopback or settings.COMFYVN_ALLOW_SECRET_EXPORT):
        raise SecretExportForbidden(
            "Credentials are exported only to a loopback client (decided from the connection and "
            "COMFYVN_TRUSTED_PROXIES, never from Host or a client-supplied X-Forwarded-For) or when "
            "COMFYVN_ALLOW_SECRET_EXPORT=1; export without include_secrets instead."
        )
    providers = list(provider_list())
    entries = [_provider_definition(provider, include_secrets=include_secrets) for provider in providers]
    credentials = sum(len(provider.secrets_set) for provider in providers) if include_secrets else 0
    audit_logger.info("provider export by %s: %d providers, %d credentials included", actor.get_username(),
                      len(entries), credentials)
    return {"version": EXPORT_VERSION, "exported_at": timezone.now().isoformat(), "providers": entries}
