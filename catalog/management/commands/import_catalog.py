"""Import a price catalog file into a provider's offers (idempotent; --dry-run writes nothing)."""
import time
from datetime import UTC, datetime
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from catalog.services import PARSERS, offer_catalog_file_import
from comfyvn_site.exceptions import InvalidCatalog
from providers.models import Provider

BAR_WIDTH = 30


class Command(BaseCommand):
    help = ("Import a price catalog (e.g. a SkyPilot vms.csv) as the offers of one provider: validates the whole file, "
            "then creates, updates or keeps each offer by (instance type, region, zone) in one transaction.")

    def add_arguments(self, parser):
        parser.add_argument("path", help="Catalog file, e.g. ../shared/catalogs/skypilot/v8/lambda/vms.csv.")
        parser.add_argument("--format", default="skypilot", choices=sorted(PARSERS), help="Catalog file format.")
        parser.add_argument("--provider", required=True, help="Id of the registry provider selling these offers.")
        parser.add_argument("--source-version", help="Version of the file (a commit); default: its SHA-256 prefix.")
        parser.add_argument("--fetched-at", help="When the prices were fetched (ISO 8601); default: the file's mtime.")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")

    def handle(self, *args, **options):
        path = Path(options["path"])
        provider = Provider.objects.filter(pk=options["provider"]).first()
        if provider is None:
            raise CommandError(f"No provider '{options['provider']}' in the registry.")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
        started = time.perf_counter()
        try:
            report = offer_catalog_file_import(
                provider=provider, data=data, source=options["format"], source_version=options["source_version"],
                fetched_at=self._fetched_at(options["fetched_at"], path), dry_run=options["dry_run"],
                progress=self._progress)
        except (InvalidCatalog, ValidationError) as exc:
            raise CommandError(f"{path}: {getattr(exc, 'message', None) or '; '.join(exc.messages)} "
                               "Nothing was imported.") from exc
        seconds = time.perf_counter() - started
        self.stderr.write("")
        prefix = "[dry run] " if report.dry_run else ""
        self.stdout.write(f"{prefix}{provider.pk}: {report.rows_read} rows read, {report.created} created, "
                          f"{report.updated} updated, {report.unchanged} unchanged, {report.skipped_total} skipped "
                          f"({report.source} {report.source_version}) in {seconds:.2f} s")
        for kind, entries in (("skipped", report.skipped), ("note", report.notes)):
            for reason, entry in entries.items():
                lines = ", ".join(map(str, entry["lines"])) + (", …" if entry["count"] > len(entry["lines"]) else "")
                self.stdout.write(f"  {kind} {reason}: {entry['count']} (line{'s' * (entry['count'] > 1)} {lines})")

    @staticmethod
    def _fetched_at(value: str | None, path: Path) -> datetime:
        if value is None:
            return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        parsed = parse_datetime(value)
        if parsed is None or parsed.tzinfo is None:
            raise CommandError(f"--fetched-at {value!r} is not an ISO 8601 time with a zone, e.g. 2026-11-27T07:00Z.")
        return parsed

    def _progress(self, stage: str, done: int, total: int) -> None:
        filled = BAR_WIDTH * done // max(total, 1)
        self.stderr.write(f"\r{stage:<10} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total}", ending="")
