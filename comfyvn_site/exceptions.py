"""Application errors with stable machine-readable codes; services raise these, never HTTP exceptions."""
from typing import Any


class ApplicationError(Exception):
    """A failure the client can act on: rendered as {code, message, extra} with `status`."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, extra: dict[str, Any] | None = None,
                 status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.extra = extra or {}
        if status is not None:
            self.status = status


class ProviderNotFound(ApplicationError):
    status = 404
    code = "provider_not_found"


class ProviderProtected(ApplicationError):
    status = 409
    code = "provider_protected"


class Conflict(ApplicationError):
    status = 409
    code = "conflict"


class NoEligibleProvider(ApplicationError):
    status = 422
    code = "no_eligible_provider"


class SecretExportForbidden(ApplicationError):
    status = 403
    code = "secret_export_forbidden"


class ServiceUnavailable(ApplicationError):
    status = 503
    code = "service_unavailable"


class GpuUnavailable(ServiceUnavailable):
    code = "gpu_unavailable"


class SecretsKeyError(Exception):
    """The credential key is missing or wrong: a configuration fault, never a client error."""


class ImportInvalid(ApplicationError):
    """An import file with invalid entries; `extra.errors` lists each by index and id."""

    code = "import_invalid"


class InvalidCatalog(ApplicationError):
    """A price catalog file that cannot be imported; `extra["line"]` names the offending line."""

    status = 400
    code = "invalid_catalog"
