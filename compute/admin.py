"""Admin: job summaries are an audit trail, so they are read-only here."""
from django.contrib import admin

from compute.models import JobSummary


@admin.register(JobSummary)
class JobSummaryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "choice", "provider_id", "estimated_cost_usd", "source", "user")
    list_filter = ("choice", "source", "created_at")
    search_fields = ("provider_id", "provider_name", "source", "user__username")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    readonly_fields = [field.name for field in JobSummary._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
