"""Admin: health-check history, read-only (rows are written by checks only)."""
from django.contrib import admin

from comfyvn_site.admin import ReadOnlyAdmin
from health.models import HealthCheck


@admin.register(HealthCheck)
class HealthCheckAdmin(ReadOnlyAdmin):
    list_display = ("checked_at", "provider", "service", "status", "http_status", "latency_ms", "trigger", "detail")
    list_filter = ("status", "service", "trigger")
    search_fields = ("provider__id", "provider__name")
    date_hierarchy = "checked_at"
    list_select_related = ("provider",)
    readonly_fields = [f.name for f in HealthCheck._meta.fields]
