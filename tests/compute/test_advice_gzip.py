"""Advice to a client that accepts gzip comes compressed, from the head's kept stream, and decodes to the same JSON."""
import gzip
import json

import pytest
from django.urls import reverse

from comfyvn_site.middleware import accepts_gzip
from compute.models import JobSummary

ADVISE = reverse("compute:advise")
WORKLOAD = {"requirements": {"type": "cg_batch", "min_vram_gb": 16, "estimated_minutes": 90}}


def _post(client, body, encoding=None):
    headers = {"HTTP_ACCEPT_ENCODING": encoding} if encoding is not None else {}
    response = client.post(ADVISE, body, format="json", **headers)
    assert response.status_code == 200, response.content
    return response


def test_gzip_answers_decode_to_the_identity_answer_every_time(staff_client, registry):
    registry("runpod", "coreweave", "paperspace", "lambda")
    body = {"workload": WORKLOAD, "dry_run": True}
    plain = _post(staff_client, body)
    assert "Content-Encoding" not in plain and "Accept-Encoding" in plain["Vary"]
    for _ in range(4):  # the first answers build the head, the later ones reuse its kept stream
        packed = _post(staff_client, body, "gzip, deflate, br")
        assert packed["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed["Vary"]
        assert int(packed["Content-Length"]) == len(packed.content) < len(plain.content)
        assert gzip.decompress(packed.content) == plain.content


def test_recorded_answers_compress_their_own_job_summary(staff_client, registry):
    registry("runpod", "coreweave")
    answers = [_post(staff_client, WORKLOAD, "gzip") for _ in range(3)]
    ids = {json.loads(gzip.decompress(answer.content))["job_summary"]["id"] for answer in answers}
    assert ids == {str(pk) for pk in JobSummary.objects.values_list("id", flat=True)} and len(ids) == 3


@pytest.mark.parametrize("header", ["", "identity", "gzip;q=0", "br", "*;q=0", "gzip;q=0, *"])
def test_no_gzip_unless_the_client_accepts_it(staff_client, registry, header):
    registry("runpod")
    response = _post(staff_client, {"workload": WORKLOAD, "dry_run": True}, header)
    assert "Content-Encoding" not in response
    assert response.json()["choice"] == "remote"


def test_other_answers_are_left_alone(staff_client):
    response = staff_client.get("/api/ping", HTTP_ACCEPT_ENCODING="gzip")
    assert "Content-Encoding" not in response and response.json()


@pytest.mark.parametrize(("header", "accepted"), [
    ("gzip", True), ("GZIP", True), ("x-gzip", True), ("*", True), ("deflate, gzip;q=0.5", True),
    ("gzip;q=0", False), ("gzip; q=0.000", False), ("gzip;q=nonsense", False), ("*;q=0", False), ("", False),
    ("br, deflate", False), ("gzip;q=0, *", False), ("identity;q=1, *;q=0.1", True),
])
def test_accepts_gzip_reads_q_values(header, accepted):
    assert accepts_gzip(header) is accepted
