"""Admin: list, create from template, edit with write-only credentials, protected `local`, read-only templates."""
import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from providers.models import Provider
from providers.secrets import decrypt_secrets
from providers.services import provider_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ADD = reverse("admin:providers_provider_add")
CHANGELIST = reverse("admin:providers_provider_changelist")


def change(provider_id: str) -> str:
    return reverse("admin:providers_provider_change", args=[provider_id])


@pytest.fixture
def admin_client(client, templates):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _secrets(provider_id: str) -> dict:
    return decrypt_secrets(Provider.objects.get(id=provider_id).secrets_ciphertext)


def test_changelist_shows_health_and_filters(admin_client):
    provider_create(template_id="runpod", provider_id="rp")
    response = admin_client.get(CHANGELIST, {"q": "rp"})
    assert response.status_code == 200
    assert b"unverified" in response.content and b"rp" in response.content
    assert admin_client.get(CHANGELIST, {"active__exact": "1", "kind__exact": "remote"}).status_code == 200


def test_add_creates_from_template_through_the_service(admin_client):
    response = admin_client.get(ADD, {"template": "aws"})
    assert response.status_code == 200 and b'type="password"' in response.content
    response = admin_client.post(ADD, {"template": "aws", "name": "AWS admin", "active": "on",
                                       "config": '{"region": "us-east-1"}', "meta": "",
                                       "credential_secret_key": "sk-ADMIN-ADD"})
    assert response.status_code == 302, response.content.decode()[:2000]
    provider = Provider.objects.get(id="aws-admin")
    assert provider.template_id == "aws" and provider.config == {"region": "us-east-1"}
    assert _secrets("aws-admin") == {"secret_key": "sk-ADMIN-ADD"}
    assert "sk-ADMIN-ADD" not in str(list(LogEntry.objects.values_list("change_message", flat=True)))


def test_add_reports_service_errors_inline_and_writes_nothing(admin_client):
    response = admin_client.post(ADD, {"template": "runpod", "base_url": "ftp://x", "active": "on",
                                       "credential_secret_key": "sk-WRONG-FIELD"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "must use the http or https scheme" in content and "unknown field(s): secret_key" in content
    assert "sk-WRONG-FIELD" not in content
    assert not Provider.objects.exclude(id="local").exists()


def test_a_credential_typed_into_config_is_refused_and_not_rendered_back(admin_client):
    response = admin_client.post(ADD, {"template": "runpod", "active": "on",
                                       "config": '{"api_key": "sk-IN-CONFIG", "region": "eu"}'})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Put credentials in their own fields, not in config: api_key." in content
    assert "sk-IN-CONFIG" not in content and "region" in content
    assert not Provider.objects.exclude(id="local").exists()


def test_change_page_never_renders_credentials(admin_client):
    provider_create(template_id="runpod", provider_id="rp", config={"api_key": "sk-ADMIN-CHANGE"})
    content = admin_client.get(change("rp")).content.decode()
    assert 'name="credential_api_key"' in content and "sk-ADMIN-CHANGE" not in content
    assert Provider.objects.get(id="rp").secrets_ciphertext not in content


def test_change_keeps_blank_credentials_sets_new_and_clears(admin_client):
    provider_create(template_id="aws", provider_id="aws", config={"access_key": "AK", "secret_key": "SK"})
    form = {"name": "AWS", "base_url": "https://ec2.amazonaws.com", "priority": "7", "active": "on",
            "meta": "{}", "config": '{"region": "eu-west-1"}', "credential_access_key": "",
            "credential_secret_key": "SK-2"}
    assert admin_client.post(change("aws"), form).status_code == 302
    provider = Provider.objects.get(id="aws")
    assert provider.priority == 7 and provider.config == {"region": "eu-west-1"}
    assert _secrets("aws") == {"access_key": "AK", "secret_key": "SK-2"}
    assert admin_client.post(change("aws"), {**form, "credential_secret_key": "",
                                             "clear_credentials": ["access_key"]}).status_code == 302
    assert _secrets("aws") == {"secret_key": "SK-2"}


def test_local_cannot_be_deleted_in_the_admin(admin_client):
    response = admin_client.post(reverse("admin:providers_provider_delete", args=["local"]), {"post": "yes"})
    assert response.status_code == 403
    provider_create(template_id="runpod", provider_id="rp")
    bulk = {"action": "delete_selected", "_selected_action": ["local", "rp"], "post": "yes"}
    assert admin_client.post(CHANGELIST, bulk).status_code == 403
    assert set(Provider.objects.values_list("id", flat=True)) == {"local", "rp"}
    assert admin_client.post(CHANGELIST, {**bulk, "_selected_action": ["rp"]}).status_code == 302
    assert list(Provider.objects.values_list("id", flat=True)) == ["local"]


def test_delete_goes_through_the_service(admin_client):
    provider_create(template_id="runpod", provider_id="rp")
    response = admin_client.post(reverse("admin:providers_provider_delete", args=["rp"]), {"post": "yes"})
    assert response.status_code == 302 and not Provider.objects.filter(id="rp").exists()


def test_templates_are_read_only(admin_client):
    assert admin_client.get(reverse("admin:providers_providertemplate_changelist")).status_code == 200
    response = admin_client.get(reverse("admin:providers_providertemplate_change", args=["runpod"]))
    assert response.status_code == 200 and b'name="_save"' not in response.content
    assert admin_client.get(reverse("admin:providers_providertemplate_add")).status_code == 403
