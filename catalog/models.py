"""Models: priced offers of the registry's providers, imported from public price catalogs."""
from django.db import models
from django.db.models import Q

from providers.models import Provider


class Offer(models.Model):
    """One purchasable GPU machine shape of a provider in one region/zone, at one hourly price.

    The natural key is (provider, instance_type, region, zone). Imports upsert by it and never touch a row marked
    `manual_override`. Deleting a provider deletes its offers (CASCADE): an offer is part of that provider's price
    list and means nothing without it, and PROTECT would make every provider with an imported catalog undeletable.
    Advice records keep their own price snapshot, so nothing else points at an offer.
    """

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="offers",
                                 help_text="The registry provider selling this machine.")
    instance_type = models.CharField(max_length=200, help_text="The vendor's instance type, e.g. 'gpu_1x_a10'.")
    gpu_name = models.CharField(max_length=64, help_text="Canonical GPU name from catalog/data/gpus.json.")
    gpu_count = models.PositiveSmallIntegerField(help_text="GPUs in one instance.")
    vram_per_gpu_gb = models.FloatField(
        help_text="VRAM of each GPU in GB: the canonical table's size, lowered when the catalog says less.")
    vcpus = models.FloatField(help_text="Virtual CPUs of the instance.")
    memory_gb = models.FloatField(help_text="Host memory of the instance in GB (the catalog's MemoryGiB).")
    region = models.CharField(max_length=128, help_text="Vendor region, as the catalog spells it.")
    zone = models.CharField(max_length=128, blank=True, default="",
                            help_text="Availability zone; empty when the catalog has none.")
    hourly_usd = models.DecimalField(max_digits=12, decimal_places=6, help_text="On-demand price per instance-hour.")
    spot_hourly_usd = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True,
                                          help_text="Spot/interruptible price per instance-hour; empty when none.")
    source = models.CharField(max_length=32, help_text="Catalog format the offer came from, e.g. 'skypilot'.")
    source_version = models.CharField(max_length=200, blank=True,
                                      help_text="Version of the source file (commit or content hash).")
    fetched_at = models.DateTimeField(help_text="When the price was fetched from the vendor; drives staleness.")
    manual_override = models.BooleanField(default=False,
                                          help_text="Set by hand: catalog imports never overwrite this offer.")
    updated_at = models.DateTimeField(auto_now=True, help_text="When this row was last written (import or hand edit).")

    class Meta:
        ordering = ("hourly_usd", "provider", "instance_type", "region", "zone")
        verbose_name = "offer"
        constraints = [
            models.UniqueConstraint(fields=("provider", "instance_type", "region", "zone"),
                                    name="%(app_label)s_%(class)s_unique_natural_key"),
            models.CheckConstraint(condition=Q(gpu_count__gte=1), name="%(app_label)s_%(class)s_gpu_count_gte_1"),
            models.CheckConstraint(condition=Q(vram_per_gpu_gb__gt=0), name="%(app_label)s_%(class)s_vram_gt_0"),
            models.CheckConstraint(condition=Q(vcpus__gte=0), name="%(app_label)s_%(class)s_vcpus_gte_0"),
            models.CheckConstraint(condition=Q(memory_gb__gte=0), name="%(app_label)s_%(class)s_memory_gte_0"),
            models.CheckConstraint(condition=Q(hourly_usd__gte=0), name="%(app_label)s_%(class)s_hourly_gte_0"),
            models.CheckConstraint(condition=Q(spot_hourly_usd__isnull=True) | Q(spot_hourly_usd__gte=0),
                                   name="%(app_label)s_%(class)s_spot_gte_0"),
        ]
        indexes = [
            # The advisor's question: the cheapest offers with at least N GB per GPU.
            models.Index(fields=("vram_per_gpu_gb", "hourly_usd"), name="catalog_offer_vram_price_idx"),
            models.Index(fields=("gpu_name", "hourly_usd"), name="catalog_offer_gpu_price_idx"),
            # Each provider's cheapest offers first (the advisor's per-provider LIMIT subqueries).
            models.Index(fields=("provider", "hourly_usd"), name="catalog_offer_prov_price_idx"),
        ]

    def __str__(self) -> str:
        where = f"{self.region}/{self.zone}" if self.zone else self.region
        return f"{self.provider_id} {self.instance_type} ({self.gpu_count}x {self.gpu_name}) in {where}"
