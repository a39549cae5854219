"""Admin action "Check health now" on the provider changelist (providers/admin.py lists it in `actions`).

It calls the same service as the sweep, so the selection is checked concurrently and recorded as manual checks.
"""
from django.contrib import admin, messages

from health.models import CheckTrigger
from health.services import health_sweep_run


@admin.action(description="Check health now", permissions=["change"])
def check_now(modeladmin, request, queryset):
    """Check the selected providers concurrently and report the outcome counts."""
    report = health_sweep_run(provider_ids=list(queryset.values_list("id", flat=True)), trigger=CheckTrigger.MANUAL)
    counts = ", ".join(f"{status}: {n}" for status, n in sorted(report.counts.items())) or "none"
    level = messages.SUCCESS if set(report.counts) <= {"ok"} and not report.skipped else messages.WARNING
    skipped = f"; {len(report.skipped)} already being checked" if report.skipped else ""
    modeladmin.message_user(request, f"Checked {len(report.checks)} provider(s) in {report.seconds:.1f}s "
                                     f"({counts}){skipped}.", level)
