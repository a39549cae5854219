"""`manage.py check_providers [--id ID ...]`: check providers now, with a progress bar and a summary table."""
from django.core.management.base import BaseCommand, CommandError

from health.models import CheckTrigger
from health.services import health_sweep_run
from providers.models import Provider

_BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Run health checks now (all active providers, or the given ids) and print a summary table."

    def add_arguments(self, parser):
        parser.add_argument("--id", action="append", dest="ids", metavar="ID",
                            help="Provider id to check (repeatable); default: every active provider.")
        parser.add_argument("--concurrency", type=int, default=None, help="Checks run at once.")

    def handle(self, *args, ids=None, concurrency=None, **options):
        if ids:
            missing = sorted(set(ids) - set(Provider.objects.filter(pk__in=ids).values_list("id", flat=True)))
            if missing:
                raise CommandError(f"Unknown provider id(s): {', '.join(missing)}")
            total = len(set(ids))
        else:
            total = Provider.objects.filter(active=True).count()
        done = 0
        interactive = self.stdout.isatty()

        def progress(provider_id, check):
            nonlocal done
            done += 1
            filled = _BAR_WIDTH * done // max(total, 1)
            line = f"[{'#' * filled}{'-' * (_BAR_WIDTH - filled)}] {done}/{total} {provider_id}"
            if interactive:
                self.stdout.write(f"\r{line:<{_BAR_WIDTH + 60}}", ending="")
            else:
                self.stdout.write(line)

        report = health_sweep_run(provider_ids=ids, trigger=CheckTrigger.COMMAND, concurrency=concurrency,
                                  on_done=progress)
        if interactive:
            self.stdout.write("")
        self._table(report)

    def _table(self, report):
        rows = [("PROVIDER", "SERVICE", "STATUS", "HTTP", "MS", "DETAIL")]
        rows += [(c.provider_id, c.service, c.status, str(c.http_status or "-"), str(c.latency_ms or 0), c.detail)
                 for c in sorted(report.checks, key=lambda c: c.provider_id)]
        rows += [(pid, "-", "skipped", "-", "-", "a check is already running") for pid in report.skipped]
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(row[:5], widths, strict=True)) + "  " + row[5])
        counts = ", ".join(f"{status}={n}" for status, n in sorted(report.counts.items())) or "nothing checked"
        style = self.style.SUCCESS if set(report.counts) <= {"ok"} else self.style.WARNING
        self.stdout.write(style(f"{len(report.checks)} checked in {report.seconds:.1f}s: {counts}"))
