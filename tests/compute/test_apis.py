"""The advise endpoints end to end: the issue's worked cases, errors, GPU input, audit rows and auth."""
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from compute.models import JobSummary
from tests.compute.conftest import inventory_gpu_add

ADVISE = reverse("compute:advise")
GPU_ADVISE = reverse("compute:gpu-advise")
VOICE_3_MIN = {"requirements": {"type": "voice_synthesis", "estimated_minutes": 3}, "budget": {"mode": "cost_saver"}}


def post_ok(client, body, url=ADVISE) -> dict:
    response = client.post(url, body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def summary_of(candidate: dict) -> tuple:
    return candidate["id"], candidate["cost"]["billed_minutes"], candidate["estimated_cost"]


# --- worked cases (upstream template values, no local GPU, never-checked providers, cost_saver) -----------------

def test_case1_short_voice_job_goes_to_per_minute_billing(user_client, registry):
    registry("runpod", "coreweave", "paperspace")
    body = post_ok(user_client, VOICE_3_MIN)
    assert body["choice"] == "remote"
    assert summary_of(body["remote_candidate"]) == ("runpod", 3, "$0.02")
    assert [(a["id"], a["estimated_cost"]) for a in body["alternatives"]] == [("paperspace", "$0.78"),
                                                                               ("coreweave", "$0.95")]
    assert body["remote_candidate"]["health"] == "unverified"
    assert body["remote_candidate"]["policy_hint"].startswith("Burst voice or TTS imports")


def test_case2_hourly_billing_charges_the_whole_hour(user_client, registry):
    registry("coreweave")
    body = post_ok(user_client, {"workload": VOICE_3_MIN})
    candidate = body["remote_candidate"]
    assert summary_of(candidate) == ("coreweave", 60, "$0.95")
    assert candidate["cost"] == {"hourly_usd": 0.95, "billing_increment_minutes": 60, "billed_minutes": 60,
                                 "estimated_cost_usd": 0.95}


def test_case3_vram_fit_uses_the_largest_offered(user_client, registry):
    registry("runpod", "lambda")
    body = post_ok(user_client, {"requirements": {"type": "cg_batch", "min_vram_gb": 16, "estimated_minutes": 30},
                                 "budget": {"mode": "cost_saver"}})
    assert summary_of(body["remote_candidate"]) == ("runpod", 30, "$0.23")
    assert body["remote_candidate"]["vram_gb"] == 24


def test_case4_budget_is_a_hard_cap(user_client, registry):
    registry("vast", "runpod")
    body = post_ok(user_client, {"requirements": {"type": "cg_batch", "estimated_minutes": 240},
                                 "budget": {"mode": "cost_saver", "limit_usd": 1}})
    assert body["choice"] == "cpu" and body["remote_candidate"] is None
    assert [w["code"] for w in body["warnings"]] == ["over_budget"]
    assert {(r["id"], r["code"]) for r in body["rejected"]} == {("vast", "OVER_BUDGET"), ("runpod", "OVER_BUDGET")}
    assert [(a["id"], a["estimated_cost"]) for a in body["alternatives"]] == [("vast", "$1.56"), ("runpod", "$1.84")]


def test_case5_translation_on_gpu_raises_an_explicit_lower_floor(user_client, templates):
    body = post_ok(user_client, {"requirements": {"type": "translation", "min_vram_gb": 8},
                                 "pipeline": {"translation": {"requires_gpu": True}}})
    assert body["analysis"]["min_vram_gb"] == 12
    assert body["analysis"]["requires_gpu"] is True


def test_case6_translation_without_gpu_need_runs_on_cpu(user_client, registry):
    registry("runpod", "unraid")
    body = post_ok(user_client, {"requirements": {"type": "translation"}})
    assert body["choice"] == "cpu"
    assert body["analysis"]["requires_gpu"] is False and body["warnings"] == []


def test_case7_persistent_outputs_need_persistent_storage(user_client, registry):
    registry("runpod", "paperspace")
    body = post_ok(user_client, {"requirements": {"type": "cg_batch", "estimated_minutes": 60},
                                 "workflows": [{"id": "cg-upscale", "persist_outputs": True}],
                                 "budget": {"mode": "cost_saver"}})
    assert body["remote_candidate"]["id"] == "paperspace"
    assert [(r["id"], r["code"]) for r in body["rejected"]] == [("runpod", "NO_PERSISTENT_STORAGE")]


# --- response shape, GPU input, flags ------------------------------------------------------------------------------

def test_both_routes_give_the_documented_shape(user_client, registry):
    registry("runpod", "aws")
    workload = {"requirements": {"type": "cg_batch", "estimated_minutes": 30},
                "assets": [{"name": "scene.tar", "size_mb": 100}]}
    for url in (ADVISE, GPU_ADVISE):
        body = post_ok(user_client, {"workload": workload, "source": "scheduler"}, url)
        assert set(body) >= {"choice", "reason", "local_candidate", "remote_candidate", "alternatives", "rejected",
                             "analysis", "warnings", "job_summary"}
        candidate = body["remote_candidate"]
        assert set(candidate) >= {"id", "name", "service", "base_url", "health", "gpu", "vram_gb", "regions", "cost",
                                  "estimated_cost", "policy_hint", "egress_notice", "score", "score_breakdown"}
        assert candidate["score_breakdown"]["mode"] == "balanced"
        assert body["job_summary"]["source"] == "scheduler" and body["job_summary"]["id"]
        assert {"data_leaves_machine", "credentials_unverified"} <= {w["code"] for w in body["warnings"]}


def test_local_gpu_from_the_inventory_wins_without_prefer_remote(user_client, registry):
    registry("runpod")
    inventory_gpu_add(free_mb=20480)
    body = post_ok(user_client, {"requirements": {"type": "cg_batch"}})
    assert body["choice"] == "gpu"
    assert body["local_candidate"]["uuid"] == "GPU-1" and body["local_candidate"]["usable_gb"] == 20
    remote = post_ok(user_client, {"workload": {"requirements": {"type": "cg_batch"}}, "prefer_remote": True})
    assert remote["choice"] == "remote"


def test_hardware_override_returns_cpu_with_fallback(user_client, registry):
    registry("runpod")
    body = post_ok(user_client, {"workload": {"requirements": {"type": "cg_batch"}}, "hardware_override": True})
    assert body["choice"] == "cpu" and body["fallback"]["id"] == "runpod"


def test_inactive_and_unhealthy_providers(user_client, registry):
    from django.utils import timezone
    registry("runpod", active=False)
    registry("paperspace", last_checked_at=timezone.now(), last_health={"ok": False})
    registry("coreweave", last_checked_at=timezone.now(), last_health={"ok": True})
    body = post_ok(user_client, VOICE_3_MIN)
    assert [(r["id"], r["code"]) for r in body["rejected"]] == [("runpod", "INACTIVE")]
    assert body["remote_candidate"]["id"] == "coreweave" and body["remote_candidate"]["health"] == "healthy"
    assert body["alternatives"][0]["score_breakdown"]["deprioritised_unhealthy"] is True  # cheaper, but unhealthy
    assert "credentials_unverified" not in {w["code"] for w in body["warnings"]}


def test_residency_rejects_providers_outside_allowed_regions(user_client, registry):
    registry("runpod", "vast", "unraid", "lambda")
    body = post_ok(user_client, {"requirements": {"type": "cg_batch"}, "residency": {"regions": ["eu", "on-prem"]},
                                 "budget": {"mode": "cost_saver"}})
    assert {r["id"]: r["code"] for r in body["rejected"]} == {"vast": "REGION_NOT_ALLOWED",
                                                              "lambda": "REGION_NOT_ALLOWED"}
    assert body["remote_candidate"]["id"] == "unraid"  # free on-prem node
    assert [a["id"] for a in body["alternatives"]] == ["runpod"]


def test_get_convenience_uses_upstream_query_params_and_records_nothing(user_client, registry):
    registry("runpod", "coreweave")
    response = user_client.get(ADVISE, {"task": "tts", "size": "2gb", "prefer_remote": "true"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["analysis"]["workload_type"] == "tts" and body["analysis"]["min_vram_gb"] == 12
    assert body["analysis"]["total_asset_mb"] == 2048 and body["choice"] == "remote"
    assert body["job_summary"]["id"] is None and not JobSummary.objects.exists()
    export = user_client.get(ADVISE, {"task": "export", "size": "1500"}).json()
    assert export["analysis"]["min_vram_gb"] == 0 and export["choice"] == "cpu"
    img = user_client.get(ADVISE, {"task": "img", "size": "5000kb"}).json()
    assert img["analysis"]["workload_type"] == "render" and img["analysis"]["min_vram_gb"] == 8
    bad = user_client.get(ADVISE, {"size": "lots", "prefer_remote": "maybe"})
    assert bad.status_code == 400 and set(bad.json()["extra"]["fields"]) == {"size", "prefer_remote"}


# --- audit ---------------------------------------------------------------------------------------------------------

def test_advice_records_a_sanitised_job_summary(user_client, user, registry):
    registry("coreweave")
    body = post_ok(user_client, {"workload": {**VOICE_3_MIN, "api_key": "sk-TESTSECRET123",
                                              "assets": [{"name": "a.wav", "size_mb": 5, "token": "x"}]},
                                 "source": "importer"})
    summary = JobSummary.objects.get()
    assert str(summary.id) == body["job_summary"]["id"]
    assert (summary.user, summary.source, summary.choice, summary.provider_id) == (user, "importer", "remote",
                                                                                   "coreweave")
    assert str(summary.estimated_cost_usd) == "0.95" and summary.billed_minutes == 60
    assert summary.offer["offer_id"] == "coreweave:meta" and summary.offer["hourly_usd"] == "0.95"
    assert "sk-TESTSECRET123" not in str(summary.workload) and "token" not in str(summary.workload)
    assert body["job_summary"] | {"id": None, "created_at": None} == {
        "id": None, "created_at": None, "choice": "remote", "recommended_provider": "coreweave",
        "estimated_cost_usd": 0.95, "estimated_cost": "$0.95", "policy_hint": summary.policy_hint,
        "min_vram_gb": 12.0, "asset_total_mb": 5.0, "warnings": body["warnings"], "source": "importer"}


def test_dry_run_records_nothing(user_client, registry):
    registry("coreweave")
    body = post_ok(user_client, {"workload": VOICE_3_MIN, "dry_run": True})
    assert body["job_summary"]["id"] is None and body["job_summary"]["recommended_provider"] == "coreweave"
    assert not JobSummary.objects.exists()


def test_deleting_a_provider_keeps_its_summaries(user_client, registry):
    (provider,) = registry("coreweave")
    post_ok(user_client, VOICE_3_MIN)
    provider.delete()
    summary = JobSummary.objects.get()
    assert (summary.provider_id, summary.provider_name) == ("coreweave", "CoreWeave")


# --- errors and auth -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "paths"), [
    ({"requirements": {"min_vram_gb": "lots"}}, {"requirements.min_vram_gb"}),
    ({"requirements": {"estimated_minutes": -5}}, {"requirements.estimated_minutes"}),
    ({"budget": {"mode": "yolo"}}, {"budget.mode"}),
    ({"budget": {"limit_usd": True}}, {"budget.limit_usd"}),
    ({"requirements": []}, {"requirements"}),
    ({"assets": [{"size_mb": 1}, "big.tar", {"size_bytes": -1}]}, {"assets[1]", "assets[2].size_bytes"}),
    ({"workflows": {"id": "x"}}, {"workflows"}),
    ({"pipeline": {"translation": {"requires_gpu": "yes"}}}, {"pipeline.translation.requires_gpu"}),
    ({"residency": {"regions": ["eu", 5]}}, {"residency.regions[1]"}),
    ({"workload": {"requirements": {"estimated_minutes": 1e12}}, "dry_run": "no"},
     {"workload.requirements.estimated_minutes", "dry_run"}),
    ({"workload": "cg_batch"}, {"workload"}),
    ([1, 2], {"body"}),
])
def test_malformed_workloads_are_400_naming_the_field_path(user_client, templates, body, paths):
    response = user_client.post(ADVISE, body, format="json")
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["code"] == "invalid" and set(payload["extra"]["fields"]) == paths, payload
    assert not JobSummary.objects.exists()


def test_invalid_json_is_400(user_client, templates):
    response = user_client.post(ADVISE, "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"


def test_advise_needs_authentication_but_not_staff(anon_client, user_client, templates):
    assert anon_client.post(ADVISE, VOICE_3_MIN, format="json").status_code in (401, 403)
    assert anon_client.post(GPU_ADVISE, VOICE_3_MIN, format="json").status_code in (401, 403)
    assert user_client.post(GPU_ADVISE, VOICE_3_MIN, format="json").status_code == 200
    assert user_client.get(GPU_ADVISE).status_code == 405  # the GET convenience lives on /compute/advise only


def test_session_posts_need_a_csrf_token(user, templates):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(ADVISE, VOICE_3_MIN, format="json").status_code == 403
    secret = "c" * 32  # Django accepts the unmasked cookie secret as the header token
    client.cookies["csrftoken"] = secret
    response = client.post(ADVISE, VOICE_3_MIN, format="json", HTTP_X_CSRFTOKEN=secret)
    assert response.status_code == 200, response.content


def test_idempotency_key_returns_the_same_job_and_one_row(user_client, registry):
    registry("coreweave")
    first = post_ok_with_key(user_client, VOICE_3_MIN, "job-42")
    second = post_ok_with_key(user_client, VOICE_3_MIN, "job-42")
    assert first["job_summary"]["id"] == second["job_summary"]["id"]
    assert JobSummary.objects.count() == 1
    other = user_client.post(ADVISE, {**VOICE_3_MIN, "budget": {"mode": "speed"}}, format="json",
                             HTTP_IDEMPOTENCY_KEY="job-42")
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    assert post_ok_with_key(user_client, VOICE_3_MIN, "job-43")["job_summary"]["id"] != first["job_summary"]["id"]
    too_long = user_client.post(ADVISE, VOICE_3_MIN, format="json", HTTP_IDEMPOTENCY_KEY="k" * 129)
    assert too_long.status_code == 400 and "Idempotency-Key" in too_long.json()["extra"]["fields"]
    assert JobSummary.objects.count() == 2


def post_ok_with_key(client, body, key) -> dict:
    response = client.post(ADVISE, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 200, response.content
    return response.json()
