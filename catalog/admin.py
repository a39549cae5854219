"""Admin: browse imported offers; a hand edit goes through offer_override and pins the offer against imports."""
from django.contrib import admin

from catalog.models import Offer
from catalog.services import offer_override

EDITABLE = ("hourly_usd", "spot_hourly_usd", "vram_per_gpu_gb", "manual_override")


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ("provider", "instance_type", "gpu_name", "gpu_count", "vram_per_gpu_gb", "region", "zone",
                    "hourly_usd", "spot_hourly_usd", "fetched_at", "manual_override")
    list_filter = ("provider", "gpu_name", "manual_override", "source")
    search_fields = ("instance_type", "region", "gpu_name")
    list_select_related = ("provider",)
    fields = ("provider", "instance_type", "gpu_name", "gpu_count", "vram_per_gpu_gb", "vcpus", "memory_gb", "region",
              "zone", "hourly_usd", "spot_hourly_usd", "source", "source_version", "fetched_at", "manual_override")

    def get_readonly_fields(self, request, obj=None):
        return [name for name in self.fields if name not in EDITABLE]

    def has_add_permission(self, request):
        return False  # offers come from catalog imports

    def save_model(self, request, obj, form, change):
        offer_override(offer=obj, **{name: form.cleaned_data[name] for name in form.changed_data})
