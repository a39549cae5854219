"""Management commands: check_providers and setup_periodic_tasks."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from health.models import HealthCheck
from providers.secrets import encrypt_secrets
from tests.factories import ProviderFactory
from tests.health.vendors import BAD_TOKEN, GOOD_TOKEN, bearer_route

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_providers(fake_server, loopback_allowed, settings):
    settings.HEALTH_SWEEP_CONCURRENCY = 1  # the test transaction is only visible to this thread
    bearer_route("GET", "/v1/pods", b"[]")(fake_server)
    for provider_id, token in (("rp-good", GOOD_TOKEN), ("rp-bad", BAD_TOKEN)):
        ProviderFactory(id=provider_id, service="runpod", base_url=fake_server.url + "/v1",
                        secrets_ciphertext=encrypt_secrets({"api_key": token}))


def test_check_providers_prints_progress_and_a_summary_table(two_providers):
    out = StringIO()
    call_command("check_providers", stdout=out)
    text = out.getvalue()
    assert "] 2/2 " in text
    assert "rp-good   runpod   ok" in text and "auth_failed" in text
    assert "2 checked in" in text and "auth_failed=1, ok=1" in text
    assert set(HealthCheck.objects.values_list("trigger", flat=True)) == {"command"}


def test_check_providers_by_id(two_providers):
    out = StringIO()
    call_command("check_providers", "--id", "rp-good", stdout=out)
    assert list(HealthCheck.objects.values_list("provider_id", flat=True)) == ["rp-good"]
    with pytest.raises(CommandError, match="nope"):
        call_command("check_providers", "--id", "nope", stdout=out)


def test_setup_periodic_tasks_upserts_by_name_and_keeps_admin_edits(settings):
    settings.HEALTH_SWEEP_INTERVAL_SECONDS = 300
    other = PeriodicTask.objects.create(name="someone-elses", task="x.y", interval=IntervalSchedule.objects.create(
        every=1, period=IntervalSchedule.HOURS))
    call_command("setup_periodic_tasks", stdout=StringIO())
    task = PeriodicTask.objects.get(name="provider-health-sweep")
    assert (task.task, task.interval.every, task.interval.period, task.expire_seconds) == (
        "health.tasks.sweep_health", 300, "seconds", 300)
    task.interval = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.MINUTES)  # edited in admin
    task.task = "stale.path"
    task.save()
    call_command("setup_periodic_tasks", stdout=StringIO())
    task.refresh_from_db()
    assert (task.task, task.interval.every, task.interval.period) == ("health.tasks.sweep_health", 10, "minutes")
    assert PeriodicTask.objects.filter(name="provider-health-sweep").count() == 1
    assert PeriodicTask.objects.filter(pk=other.pk).exists()
