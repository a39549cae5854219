"""Create or update the periodic "gpu-inventory-report" schedule by name (other schedules are left alone)."""
from django.core.management.base import BaseCommand, CommandError

from gpu.services import gpu_report_schedule_upsert


class Command(BaseCommand):
    help = "Upsert the django-celery-beat schedule on which every worker reports its host's GPUs."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=int, help="Set the interval in seconds (default: keep an existing one, "
                                                      "else GPU_REPORT_INTERVAL_SECONDS).")

    def handle(self, *args, **options):
        if options["every"] is not None and options["every"] < 1:
            raise CommandError("--every must be at least 1 second.")
        task = gpu_report_schedule_upsert(every_seconds=options["every"])
        self.stdout.write(f"schedule {task.name!r}: {task.task} every {task.interval.every} s "
                          f"({'enabled' if task.enabled else 'disabled'})")
