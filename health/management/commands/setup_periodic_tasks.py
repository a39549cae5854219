"""`manage.py setup_periodic_tasks`: upsert the health sweep schedule by name (never deletes anything)."""
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

SWEEP_TASK_NAME = "provider-health-sweep"
SWEEP_TASK = "health.tasks.sweep_health"


class Command(BaseCommand):
    help = "Create or update the periodic health sweep (django-celery-beat); admin edits to its interval are kept."

    @transaction.atomic
    def handle(self, *args, **options):
        every = settings.HEALTH_SWEEP_INTERVAL_SECONDS
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=IntervalSchedule.SECONDS)
        task, created = PeriodicTask.objects.get_or_create(
            name=SWEEP_TASK_NAME,
            defaults={"task": SWEEP_TASK, "interval": interval, "expire_seconds": every,
                      "description": "Checks every active provider; the interval is editable here."},
        )
        if not created and task.task != SWEEP_TASK:
            # The schedule (interval, enabled, expiry) belongs to the operator once it exists; only the code path
            # that the name refers to is ours to correct.
            task.task = SWEEP_TASK
            task.full_clean()
            task.save(update_fields=["task"])
        verb = "created" if created else "kept"
        schedule = task.interval or task.crontab or task.solar or task.clocked
        self.stdout.write(f"{SWEEP_TASK_NAME}: {verb} ({schedule}, enabled={task.enabled})")
