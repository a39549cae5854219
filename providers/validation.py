"""Validation of provider fields that the database cannot express: URL shape, meta, and config against a schema.

Error messages name the offending field and rule but never repeat the submitted value: a value may be a
credential (jsonschema's own messages echo the instance, so they are rewritten here).
"""
import math
from copy import deepcopy
from functools import lru_cache
from json import dumps, loads
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from jsonschema import Draft202012Validator

MAX_URL_LENGTH = 2048
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
# The service's own settings (comfyvn_site/settings): an env reference naming one would let whoever edits a provider
# send the server's secret key or database password to the provider's base_url with the next health check.
RESERVED_ENV_PATTERN = (r"^(SECRET_KEY|DATABASE_URL|CACHE_URL|ALLOWED_HOSTS|CSRF_TRUSTED_ORIGINS|DEBUG|LOG_LEVEL|"
                        r"CONN_MAX_AGE|NUM_PROXIES|SENTRY_DSN|(COMFYVN|DJANGO|CELERY|HEALTH|GPU|SECURE)_[A-Z0-9_]*)$")

_NUMBER = {"type": ["number", "null"], "minimum": 0}
_FLAG = {"type": "boolean"}
_STRINGS = {"type": "array", "items": {"type": "string"}}
# The guide's provider meta: typed where the advisor reads it; other keys are allowed (custom policy fields).
META_SCHEMA = {
    "type": "object",
    "properties": {
        "gpu": {"type": ["string", "null"]},
        "min_vram_gb": _NUMBER,
        "max_vram_gb": _NUMBER,
        "cost": {"type": "object", "properties": {"hourly_usd": _NUMBER, "billing_increment_minutes": _NUMBER}},
        "cost_tier": _NUMBER,
        "supports_large_assets": _FLAG,
        "supports_persistent_storage": _FLAG,
        "supports_long_running": _FLAG,
        "supports_short_burst": _FLAG,
        "regions": _STRINGS,
        "egress_notice": {"type": ["string", "null"]},
        "startup_minutes": _NUMBER,
        "bandwidth_mbps": _NUMBER,
        "relative_speed": _NUMBER,
        "preferred_workloads": _STRINGS,
        "policy_hints": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
ENV_REFERENCE_SCHEMA = {
    "type": "object",
    "properties": {"env": {"type": "string", "pattern": ENV_NAME_PATTERN, "not": {"pattern": RESERVED_ENV_PATTERN}}},
    "required": ["env"],
    "additionalProperties": False,
}


def _rule(error) -> str:
    """Describe a failed JSON Schema keyword without the instance (which may be a secret)."""
    keyword, expected = error.validator, error.validator_value
    if keyword == "type":
        return f"must be of type {' or '.join(expected) if isinstance(expected, list) else expected}"
    if keyword == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"unknown field(s): {', '.join(extra)}"
    if keyword == "required":
        return f"missing required field(s): {', '.join(name for name in expected if name not in error.instance)}"
    if keyword == "format":
        return f"is not a valid {expected}"
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
                   "minItems", "maxItems", "pattern", "enum", "const"):
        return f"fails {keyword} {expected!r}"
    if keyword == "not" and expected == {"pattern": RESERVED_ENV_PATTERN}:
        return "names one of the service's own settings, which is never a provider credential"
    return f"fails the '{keyword}' rule"


def _messages(validator: Draft202012Validator, instance) -> list[str]:
    messages = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))):
        path = ".".join(str(part) for part in error.absolute_path)
        messages.append(f"{path}: {_rule(error)}" if path else _rule(error))
    return messages


@lru_cache(maxsize=128)
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(loads(schema_json), format_checker=Draft202012Validator.FORMAT_CHECKER)


def _without_required(schema):
    """The schema with every `required` dropped: placeholders and empty configs are the guide's dry-run mode."""
    if isinstance(schema, dict):
        return {key: _without_required(value) for key, value in schema.items() if key != "required"}
    if isinstance(schema, list):
        return [_without_required(item) for item in schema]
    return schema


def schema_errors(schema: dict, instance, *, relax_required: bool = False) -> list[str]:
    """Messages for every way `instance` fails `schema` (none when it is valid)."""
    if relax_required:
        schema = _without_required(schema)
    return _messages(_validator(dumps(schema, sort_keys=True)), instance)


def _non_finite_or_negative(value, path: str = ""):
    """Yield the paths of numbers anywhere in a JSON value that are negative, infinite or NaN."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite_or_negative(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_finite_or_negative(item, f"{path}.{index}" if path else str(index))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value) or value < 0:
            yield path


def meta_validate(meta) -> None:
    """Meta is a JSON object; known fields are typed; every number in it is finite and non-negative."""
    if not isinstance(meta, dict):
        raise ValidationError({"meta": "must be a JSON object"})
    messages = [f"{path}: must be a finite, non-negative number" for path in _non_finite_or_negative(meta)]
    messages += schema_errors(META_SCHEMA, meta) if not messages else []
    low, high = meta.get("min_vram_gb"), meta.get("max_vram_gb")
    if not messages and isinstance(low, int | float) and isinstance(high, int | float) and low > high:
        messages.append("min_vram_gb: must not exceed max_vram_gb")
    if messages:
        raise ValidationError({"meta": messages})


def base_url_validate(url: str, *, service: str) -> None:
    """http/https only (ssh:// for the ssh service), a host, no userinfo, no control characters, <= 2048 chars."""
    allowed = ("ssh",) if service == "ssh" else ("http", "https")
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError({"base_url": f"must be at most {MAX_URL_LENGTH} characters"})
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url) or any(
            code in url.lower() for code in ("%0a", "%0d", "%00")):
        raise ValidationError({"base_url": "must not contain whitespace or control characters"})
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        raise ValidationError({"base_url": "is not a valid URL"}) from None
    if parts.scheme not in allowed:
        raise ValidationError({"base_url": f"must use the {' or '.join(allowed)} scheme"})
    if "@" in parts.netloc:
        raise ValidationError({"base_url": "must not contain a user name or password"})
    if not parts.hostname:
        raise ValidationError({"base_url": "must include a host"})
    if parts.fragment:
        raise ValidationError({"base_url": "must not contain a fragment"})


def base_url_policy_validate(url: str, *, service: str, meta) -> None:
    """Refuse, at save and import time, an address the health checker may never call (reliability.md L11, S01,
    S15): metadata and link-local always, loopback and private ranges outside the local/LAN/SSH services.
    The checker re-applies the same policy after DNS resolution, so this is the early, DNS-free half."""
    from health.outbound import Blocked, base_url_check  # the outbound policy lives with the code that connects

    overrides = meta.get("health") if isinstance(meta, dict) else None
    ports = overrides.get("allowed_ports") or [] if isinstance(overrides, dict) else []
    try:
        base_url_check(url=url, service=service, extra_ports=ports)
    except (Blocked, ValueError, TypeError) as exc:
        raise ValidationError({"base_url": f"refused by the outbound policy: {exc}"}) from None


def deep_merge(base: dict, override: dict) -> dict:
    """`override` on top of `base`, merging nested objects; neither input is modified."""
    merged = deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = deepcopy(value)
    return merged
