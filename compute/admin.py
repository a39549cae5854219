"""Admin: job summaries are an audit trail, so they are read-only here."""
from django.contrib import admin

from comfyvn_site.admin import ReadOnlyAdmin
from compute.models import JobSummary


@admin.register(JobSummary)
class JobSummaryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "choice", "provider_id", "estimated_cost_usd", "source", "user")
    list_filter = ("choice", "source", "created_at")
    search_fields = ("provider_id", "provider_name", "source", "user__username")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    readonly_fields = [field.name for field in JobSummary._meta.fields]
