"""offer_catalog_import over the real shared catalogs: counts, known rows, idempotence, atomicity, overrides."""
import math
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from catalog.importers import catalog_text
from catalog.models import Offer
from catalog.services import BATCH_SIZE, offer_catalog_import, offer_override
from comfyvn_site.exceptions import InvalidCatalog
from providers.models import ProviderKind
from tests.catalog.conftest import CATALOG_FILES, FETCHED_AT, catalog_dir, import_file
from tests.factories import ProviderFactory, StaffFactory

# provider -> (data rows, offers created, skip reasons); rows per SOURCE.md.
EXPECTED = {
    "lambda": (408, 374, {"cpu_only": 34}),
    "vast": (67, 67, {}),
    "paperspace": (19, 14, {"cpu_only": 5}),
    "runpod": (2750, 1986, {"cpu_only": 750, "duplicate": 14}),
    "azure": (5969, 183, {"cpu_only": 5782, "no_price": 4}),
}
OFFER_VALUES = ("provider_id", "instance_type", "region", "zone", "gpu_name", "gpu_count", "vram_per_gpu_gb", "vcpus",
                "memory_gb", "hourly_usd", "spot_hourly_usd", "source", "source_version", "fetched_at",
                "manual_override")


def offer_rows():
    return list(Offer.objects.order_by("provider_id", "instance_type", "region", "zone").values_list(*OFFER_VALUES))


@pytest.mark.parametrize("provider_id", sorted(CATALOG_FILES))
def test_every_shared_catalog_imports_with_the_expected_counts(catalog_providers, provider_id):
    report = import_file(catalog_providers[provider_id], CATALOG_FILES[provider_id])
    rows, created, skipped = EXPECTED[provider_id]
    assert (report.rows_read, report.created, report.updated, report.unchanged) == (rows, created, 0, 0)
    assert {reason: entry["count"] for reason, entry in report.skipped.items()} == skipped
    assert report.created + report.skipped_total == rows
    assert Offer.objects.filter(provider_id=provider_id).count() == created


def offer(provider, instance_type, region, zone=""):
    return Offer.objects.get(provider_id=provider, instance_type=instance_type, region=region, zone=zone)


def test_known_rows_import_exactly(imported_catalogs):
    assert sum(r.created for r in imported_catalogs.values()) == Offer.objects.count() == 2624
    a10 = offer("lambda", "gpu_1x_a10", "europe-central-1")
    assert (a10.gpu_name, a10.gpu_count, a10.vram_per_gpu_gb, a10.vcpus, a10.memory_gb) == ("A10", 1, 24.0, 30.0, 200.0)
    assert (a10.hourly_usd, a10.spot_hourly_usd, a10.fetched_at) == (Decimal("1.29"), None, FETCHED_AT)
    b200 = offer("lambda", "gpu_8x_b200_sxm6", "asia-south-1")
    assert (b200.gpu_count, b200.vram_per_gpu_gb, b200.hourly_usd) == (8, 180.0, Decimal("53.52"))
    # RunPod's A100-80GB: canonical 80 GB per GPU, spot and on-demand in their own columns, per zone.
    a100 = offer("runpod", "1x_A100-80GB_SECURE", "CA", "CA-MTL-1")
    assert (a100.gpu_name, a100.vram_per_gpu_gb, a100.hourly_usd, a100.spot_hourly_usd) == (
        "A100-80GB", 80.0, Decimal("1.64"), Decimal("1.19"))
    azure = offer("azure", "Standard_NC24ads_A100_v4", "eastus")
    assert (azure.hourly_usd, azure.spot_hourly_usd, azure.vcpus, azure.memory_gb) == (
        Decimal("3.673"), Decimal("0.444433"), 24.0, 220.0)
    h200 = offer("vast", "4x-H200-32-65536", ", US, NA")
    assert (h200.gpu_count, h200.vram_per_gpu_gb, h200.hourly_usd, h200.spot_hourly_usd) == (
        4, 141.0, Decimal("10.59"), None)
    assert offer("vast", "2x-RTX_3060_Ti-32-65536", "Michigan, US, NA").vram_per_gpu_gb == 8.0
    paperspace = offer("paperspace", "A100-80Gx8", "East Coast (NY2)")
    assert (paperspace.gpu_count, paperspace.vcpus, paperspace.hourly_usd) == (8, 96.0, Decimal("25.44"))


def test_importing_the_same_files_twice_changes_nothing(imported_catalogs, catalog_providers):
    before = offer_rows()
    for pid, relative in CATALOG_FILES.items():
        report = import_file(catalog_providers[pid], relative)
        assert (report.created, report.updated, report.unchanged) == (0, 0, EXPECTED[pid][1])
    assert offer_rows() == before


def test_a_changed_price_updates_only_that_offer(catalog_providers):
    lam = catalog_providers["lambda"]
    import_file(lam, CATALOG_FILES["lambda"])
    text = (catalog_dir() / CATALOG_FILES["lambda"]).read_bytes().decode()
    changed = text.replace("gpu_1x_a10,A10,1.0,30.0,200.0,1.29,europe-central-1,",
                           "gpu_1x_a10,A10,1.0,30.0,200.0,1.19,europe-central-1,", 1)
    later = FETCHED_AT + timedelta(hours=1)
    report = offer_catalog_import(provider=lam, file=catalog_text(changed.encode()), source_version="snapshot",
                                  fetched_at=FETCHED_AT)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 373)
    assert offer("lambda", "gpu_1x_a10", "europe-central-1").hourly_usd == Decimal("1.19")
    report = offer_catalog_import(provider=lam, file=catalog_text(changed.encode()), source_version="next",
                                  fetched_at=later)
    assert (report.created, report.updated, report.unchanged) == (0, 374, 0)
    assert set(Offer.objects.values_list("fetched_at", "source_version").distinct()) == {(later, "next")}


def test_a_malformed_file_writes_nothing(catalog_providers):
    lam = catalog_providers["lambda"]
    import_file(lam, CATALOG_FILES["lambda"])
    before = offer_rows()
    text = (catalog_dir() / CATALOG_FILES["lambda"]).read_bytes().decode()
    broken = text.replace("1.29", "2.00", 1) + "gpu_1x_a10,A10,1.0,30.0,200.0,cheap,mars-1,,\r\n"
    with pytest.raises(InvalidCatalog) as caught:
        offer_catalog_import(provider=lam, file=catalog_text(broken.encode()), source_version="x",
                             fetched_at=FETCHED_AT)
    assert caught.value.extra["line"] == 410
    assert offer_rows() == before


def test_import_never_overwrites_a_manual_override(catalog_providers):
    lam = catalog_providers["lambda"]
    import_file(lam, CATALOG_FILES["lambda"])
    Offer.objects.filter(instance_type="gpu_1x_a10", region="europe-central-1").update(
        hourly_usd=Decimal("0.99"), manual_override=True)
    report = import_file(lam, CATALOG_FILES["lambda"], fetched_at=FETCHED_AT + timedelta(days=1))
    assert report.skipped["manual_override"]["count"] == 1 and report.updated == 373
    assert offer("lambda", "gpu_1x_a10", "europe-central-1").hourly_usd == Decimal("0.99")


def test_dry_run_reports_without_writing(catalog_providers):
    report = import_file(catalog_providers["runpod"], CATALOG_FILES["runpod"], dry_run=True)
    assert (report.dry_run, report.created) == (True, 1986)
    assert not Offer.objects.exists()


def test_import_is_bulk_a_few_queries_for_thousands_of_rows(catalog_providers, django_assert_max_num_queries):
    # savepoint, provider lock, existing offers, release, and the bulk upserts: 2 on PostgreSQL (1,000 rows each),
    # more on SQLite, whose statements hold fewer parameters
    per_statement = min(BATCH_SIZE, connection.ops.bulk_batch_size(Offer._meta.concrete_fields, [None] * 1986))
    with django_assert_max_num_queries(4 + math.ceil(1986 / per_statement)):
        import_file(catalog_providers["runpod"], CATALOG_FILES["runpod"])


def test_import_refuses_a_local_provider_and_an_unknown_format(db):
    local = ProviderFactory(id="gpu-box", kind=ProviderKind.LOCAL)
    with pytest.raises(ValidationError, match="remote"):
        import_file(local, CATALOG_FILES["vast"])
    with pytest.raises(ValidationError, match="Unknown catalog format"):
        import_file(ProviderFactory(), CATALOG_FILES["vast"], source="gpuhunt")


def test_deleting_a_provider_deletes_its_offers(catalog_providers):
    import_file(catalog_providers["vast"], CATALOG_FILES["vast"])
    catalog_providers["vast"].delete()
    assert not Offer.objects.exists()


def test_offer_override_pins_a_hand_edit_until_released(catalog_providers):
    import_file(catalog_providers["vast"], CATALOG_FILES["vast"])
    row = Offer.objects.get(instance_type="4x-H200-32-65536", region=", US, NA")
    offer_override(offer=row, hourly_usd=Decimal("9.99"))
    assert import_file(catalog_providers["vast"], CATALOG_FILES["vast"]).skipped["manual_override"]["count"] == 1
    assert Offer.objects.get(pk=row.pk).hourly_usd == Decimal("9.99")
    offer_override(offer=row, manual_override=False)
    assert import_file(catalog_providers["vast"], CATALOG_FILES["vast"]).updated == 1
    assert Offer.objects.get(pk=row.pk).hourly_usd == Decimal("10.59")
    with pytest.raises(ValidationError):
        offer_override(offer=row, hourly_usd=Decimal("-1"))


def test_admin_lists_offers_and_a_change_pins_the_offer(catalog_providers, client):
    import_file(catalog_providers["vast"], CATALOG_FILES["vast"])
    client.force_login(StaffFactory(is_superuser=True))
    assert client.get(reverse("admin:catalog_offer_changelist")).status_code == 200
    row = Offer.objects.get(instance_type="4x-H200-32-65536", region=", US, NA")
    response = client.post(reverse("admin:catalog_offer_change", args=[row.pk]),
                           {"hourly_usd": "9.50", "spot_hourly_usd": "", "vram_per_gpu_gb": "141",
                            "manual_override": "on"})
    assert response.status_code == 302, response.content[:2000]
    row.refresh_from_db()
    assert (row.hourly_usd, row.manual_override) == (Decimal("9.50"), True)


@pytest.mark.django_db(transaction=True)
def test_import_is_its_own_transaction_when_the_caller_has_none():
    """A Celery task, a shell or a benchmark calls the service outside any transaction: the row locks it takes need
    one, and a malformed file must still write nothing."""
    lam = ProviderFactory(id="lambda", name="Lambda", service="lambda")
    report = import_file(lam, CATALOG_FILES["lambda"])
    assert report.created == Offer.objects.filter(provider=lam).count() > 0
    before = offer_rows()
    text = (catalog_dir() / CATALOG_FILES["lambda"]).read_bytes().decode()
    broken = text.replace("1.29", "2.00", 1) + "gpu_1x_a10,A10,1.0,30.0,200.0,cheap,mars-1,,\r\n"
    with pytest.raises(InvalidCatalog):
        offer_catalog_import(provider=lam, file=catalog_text(broken.encode()), source_version="x",
                             fetched_at=FETCHED_AT)
    assert offer_rows() == before
