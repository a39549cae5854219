"""Sync the curated provider templates from fixtures/provider_templates.json (idempotent)."""
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from providers.services import TEMPLATES_FIXTURE, provider_template_specs_load, provider_template_sync


class Command(BaseCommand):
    help = "Create or update the curated provider templates and make sure the built-in `local` provider exists."

    def add_arguments(self, parser):
        parser.add_argument("--file", default=str(TEMPLATES_FIXTURE), help="Template file (default: the fixture).")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")

    def handle(self, *args, **options):
        try:
            specs = provider_template_specs_load(options["file"])
            report = provider_template_sync(specs=specs, dry_run=options["dry_run"])
        except (OSError, ValueError, KeyError, ValidationError) as exc:
            raise CommandError(f"Invalid template file {options['file']}: {exc}") from exc
        prefix = "[dry run] " if options["dry_run"] else ""
        self.stdout.write(f"{prefix}templates: {len(report.created)} created, {len(report.updated)} updated, "
                          f"{len(report.unchanged)} unchanged")
