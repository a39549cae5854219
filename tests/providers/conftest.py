"""Registry fixtures: a distinct planted value for every credential of every curated template."""
import pytest

from providers.models import ProviderTemplate
from providers.secrets import secret_fields


@pytest.fixture
def planted_secrets(templates) -> dict[str, dict[str, str]]:
    """{template_id: {secret_field: value}}; each value is unique, so any leak names its source."""
    return {
        template.id: {name: f"sk-PLANTED-{template.id}-{name}-7f3a9c"
                      for name in sorted(secret_fields(template.auth_schema))}
        for template in ProviderTemplate.objects.all()
    }
