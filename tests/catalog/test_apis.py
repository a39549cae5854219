"""The catalog APIs: GET /api/offers/, GET /api/gpus/ and the staff upload, with filters, errors and query counts."""
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.models import Offer
from tests.catalog.conftest import CATALOG_FILES, catalog_dir

OFFERS = reverse("catalog:offer-list")
GPUS = reverse("catalog:gpu-list")


def upload_url(provider_id: str) -> str:
    return reverse("catalog:offer-import", kwargs={"provider_id": provider_id})


def get(client, url, status=200, **params):
    response = client.get(url, params)
    assert response.status_code == status, response.content
    return response.json()


def test_catalog_reads_need_an_authenticated_user(anon_client):
    assert anon_client.get(OFFERS).status_code in (401, 403)
    assert anon_client.get(GPUS).status_code in (401, 403)


def test_offer_list_is_paginated_cheapest_first_in_two_queries(imported_catalogs, user_client,
                                                               django_assert_num_queries):
    with django_assert_num_queries(2):  # count + page
        body = get(user_client, OFFERS, limit=50)
    assert body["count"] == 2624 and len(body["results"]) == 50 and body["next"]
    prices = [Decimal(o["hourly_usd"]) for o in body["results"]]
    assert prices == sorted(prices)
    assert prices[0] == Offer.objects.order_by("hourly_usd").values_list("hourly_usd", flat=True).first()


def test_offer_list_filters_combine(imported_catalogs, user_client):
    body = get(user_client, OFFERS, gpu="a100 80gb", min_vram_gb=80, max_hourly_usd="2", region="ca", provider="runpod")
    assert body["count"] > 0
    for o in body["results"]:
        assert (o["provider"], o["gpu"], o["region"]) == ("runpod", "A100-80GB", "CA")
        assert o["vram_per_gpu_gb"] >= 80 and Decimal(o["hourly_usd"]) <= 2
    expected = Offer.objects.filter(provider_id="runpod", gpu_name="A100-80GB", region="CA", hourly_usd__lte=2).count()
    assert body["count"] == expected


def test_offer_list_answers_the_cheapest_single_gpu_with_24_gb(imported_catalogs, user_client):
    body = get(user_client, OFFERS, min_vram_gb=24, gpu_count=1, limit=1)
    fitting = Offer.objects.filter(vram_per_gpu_gb__gte=24, gpu_count=1)
    assert body["count"] == fitting.count()
    assert Decimal(body["results"][0]["hourly_usd"]) == min(o.hourly_usd for o in fitting) == Decimal("0.29")


def test_offer_list_min_vram_matches_a_brute_force_count(imported_catalogs, user_client):
    body = get(user_client, OFFERS, min_vram_gb=48, limit=1)
    assert body["count"] == sum(1 for v in Offer.objects.values_list("vram_per_gpu_gb", flat=True) if v >= 48)


def test_offer_list_hides_inactive_providers(imported_catalogs, catalog_providers, user_client):
    catalog_providers["runpod"].active = False
    catalog_providers["runpod"].save()
    assert get(user_client, OFFERS, provider="runpod")["count"] == 0
    assert get(user_client, OFFERS, limit=1)["count"] == 2624 - 1986


@pytest.mark.parametrize("params, field", [
    ({"gpu": "RTX9090"}, "gpu"), ({"min_vram_gb": "lots"}, "min_vram_gb"), ({"max_hourly_usd": "-1"}, "max_hourly_usd"),
])
def test_offer_list_rejects_bad_filters(db, user_client, params, field):
    body = get(user_client, OFFERS, status=400, **params)
    assert body["code"] == "invalid" and field in body["extra"]["fields"], body


def test_gpu_list_groups_offers_by_gpu_in_one_query(imported_catalogs, user_client, django_assert_num_queries):
    with django_assert_num_queries(1):
        body = get(user_client, GPUS)
    gpus = {g["gpu"]: g for g in body["results"]}
    assert body["count"] == len(gpus) == Offer.objects.values("gpu_name").distinct().count()
    a10 = gpus["A10"]
    offers = Offer.objects.filter(gpu_name="A10")
    assert (a10["vram_gb"], a10["vendor"], a10["offers"]) == (24, "nvidia", offers.count())
    assert a10["providers"] == sorted(set(offers.values_list("provider_id", flat=True))) == ["azure", "lambda"]
    assert a10["gpu_counts"] == sorted(set(offers.values_list("gpu_count", flat=True)))
    prices = [o.hourly_usd for o in offers]
    assert (Decimal(a10["min_hourly_usd"]), Decimal(a10["max_hourly_usd"])) == (min(prices), max(prices))
    assert Decimal(a10["min_hourly_usd_per_gpu"]) == min(o.hourly_usd / o.gpu_count for o in offers).quantize(
        Decimal("0.000001"))
    assert [g["vram_gb"] for g in body["results"]] == sorted(g["vram_gb"] for g in body["results"])


def test_gpu_list_filters_by_vram(imported_catalogs, user_client):
    body = get(user_client, GPUS, min_vram_gb=141)
    assert {g["gpu"] for g in body["results"]} == {"H200", "H200-SXM", "B200", "MI300X"}


def catalog_upload(name: str, content: bytes | None = None) -> SimpleUploadedFile:
    data = content if content is not None else (catalog_dir() / CATALOG_FILES[name]).read_bytes()
    return SimpleUploadedFile("vms.csv", data, content_type="text/csv")


def test_import_upload_is_staff_only(catalog_providers, user_client):
    response = user_client.post(upload_url("vast"), {"file": catalog_upload("vast")}, format="multipart")
    assert response.status_code == 403, response.content
    assert not Offer.objects.exists()


def test_import_upload_creates_then_keeps_offers(catalog_providers, staff_client):
    form = {"fetched_at": "2026-11-27T07:00:00Z"}
    response = staff_client.post(upload_url("lambda"), {**form, "file": catalog_upload("lambda")}, format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["rows_read"], body["skipped"]["cpu_only"]["count"]) == (374, 408, 34)
    assert body["source_version"].startswith("sha256:")
    response = staff_client.post(upload_url("lambda"), {**form, "file": catalog_upload("lambda")}, format="multipart")
    assert (response.json()["created"], response.json()["unchanged"]) == (0, 374)


def test_import_upload_of_a_malformed_file_is_a_400_naming_the_line(catalog_providers, staff_client):
    content = (catalog_dir() / CATALOG_FILES["vast"]).read_bytes() + b"1x-A40,A40,1,32,64.0,,free,0.00,US\r\n"
    response = staff_client.post(upload_url("vast"), {"file": catalog_upload("vast", content)}, format="multipart")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_catalog" and response.json()["extra"]["line"] == 69
    assert not Offer.objects.exists()


def test_import_upload_dry_run_and_errors(catalog_providers, staff_client, settings):
    response = staff_client.post(upload_url("vast"), {"file": catalog_upload("vast"), "dry_run": "true"},
                                 format="multipart")
    assert (response.status_code, response.json()["created"], Offer.objects.count()) == (200, 67, 0)
    response = staff_client.post(upload_url("nobody"), {"file": catalog_upload("vast")}, format="multipart")
    assert (response.status_code, response.json()["code"]) == (404, "provider_not_found")
    settings.COMFYVN_CATALOG_MAX_UPLOAD_BYTES = 1000
    response = staff_client.post(upload_url("vast"), {"file": catalog_upload("vast")}, format="multipart")
    assert response.status_code == 400 and "limit is 1000" in response.json()["message"], response.content
    response = staff_client.post(upload_url("vast"), {"file": catalog_upload("vast", b"\xff\xfe")}, format="multipart")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_catalog")
