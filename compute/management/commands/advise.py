"""`manage.py advise WORKLOAD.json [--dry-run] [--json]`: the advise service from the command line."""
import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from compute.serializers import advice_render
from compute.services import advice_create
from compute.workload import advice_request_parse

COLUMNS = ("", "provider", "gpu", "VRAM", "health", "billed min", "cost", "score", "note")


class Command(BaseCommand):
    help = "Advise where a workload should run and print the recommendation as a table (or JSON)."

    def add_arguments(self, parser):
        parser.add_argument("workload", help="JSON file: the workload, or {\"workload\": {...}, \"prefer_remote\": …}.")
        parser.add_argument("--dry-run", action="store_true", help="Do not record a job summary.")
        parser.add_argument("--json", action="store_true", help="Print the full advice as JSON.")

    def handle(self, *args, **options):
        try:
            body = json.loads(Path(options["workload"]).read_text())
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read {options['workload']}: {exc}") from exc
        if isinstance(body, dict):
            body.setdefault("source", "cli")
        try:
            parsed = advice_request_parse(body)
        except ValidationError as exc:
            problems = "; ".join(f"{path}: {' '.join(msgs)}" for path, msgs in exc.message_dict.items())
            raise CommandError(f"Invalid workload: {problems}") from exc
        result = advice_create(workload=parsed.workload, prefer_remote=parsed.prefer_remote,
                               hardware_override=parsed.hardware_override,
                               dry_run=parsed.dry_run or options["dry_run"], source=parsed.source)
        data = advice_render(result)
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2, default=str))
            return
        self.stdout.write(self._table(data))

    def _table(self, data: dict) -> str:
        rows = []
        for mark, candidate in [("*", data["remote_candidate"]), *(("", alt) for alt in data["alternatives"])]:
            if candidate:
                rows.append((mark, candidate["id"], candidate["gpu"], _gb(candidate["vram_gb"]), candidate["health"],
                             str(candidate["cost"]["billed_minutes"]), candidate["estimated_cost"],
                             str(candidate["score"]), "chosen" if mark and data["choice"] == "remote" else ""))
        rows += [("x", r["id"], "", "", "", "", r["estimated_cost"] or "-", "", r["code"]) for r in data["rejected"]]
        widths = [max(len(str(row[i])) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
        lines = [f"Choice: {data['choice'].upper()}", data["reason"], ""]
        lines += ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                  for row in [COLUMNS, *rows]]
        lines += [f"warning {w['code']}: {w['message']}" for w in data["warnings"]]
        summary = data["job_summary"]
        lines.append(f"job summary: {summary['id'] or 'not recorded (dry run)'}")
        return "\n".join(lines)


def _gb(value) -> str:
    return "" if value is None else f"{value:g} GB"
