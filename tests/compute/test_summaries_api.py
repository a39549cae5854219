"""Job summary audit API: paginated, filtered, per-user visibility, read-only admin."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from compute.models import JobSummary
from tests.factories import UserFactory

LIST = reverse("compute:summaries")


def _summary(user, **fields) -> JobSummary:
    return JobSummary.objects.create(user=user, **{"choice": "cpu", "source": "api", **fields})


@pytest.fixture
def summaries(user, staff):
    other = UserFactory()
    rows = [_summary(user, choice="remote", provider_id="runpod", source="scheduler", estimated_cost_usd="0.02"),
            _summary(user, choice="cpu", source="importer"),
            _summary(other, choice="remote", provider_id="vast", source="scheduler")]
    JobSummary.objects.filter(id=rows[1].id).update(created_at=timezone.now() - timedelta(days=3))
    return rows


def ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_users_see_their_own_summaries_and_staff_see_all(user_client, staff_client, summaries):
    assert ids(user_client.get(LIST)) == {str(s.id) for s in summaries[:2]}
    assert ids(staff_client.get(LIST)) == {str(s.id) for s in summaries}


@pytest.mark.parametrize(("params", "expected"), [
    ({"choice": "remote"}, [0, 2]),
    ({"provider": "vast"}, [2]),
    ({"source": "scheduler"}, [0, 2]),
    ({"since": "2000-01-01T00:00:00Z"}, [0, 1, 2]),
])
def test_filters(staff_client, summaries, params, expected):
    assert ids(staff_client.get(LIST, params)) == {str(summaries[i].id) for i in expected}


def test_since_excludes_older_summaries(staff_client, summaries):
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(staff_client.get(LIST, {"since": since})) == {str(summaries[0].id), str(summaries[2].id)}


def test_bad_filters_are_400(staff_client, summaries):
    response = staff_client.get(LIST, {"choice": "moon", "since": "yesterday"})
    assert response.status_code == 400 and set(response.json()["extra"]["fields"]) == {"choice", "since"}


def test_list_is_paginated_newest_first(staff_client, summaries, django_assert_num_queries):
    with django_assert_num_queries(2):  # count + page (user joined), whatever the page size
        response = staff_client.get(LIST, {"limit": 2})
    body = response.json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    assert body["results"][0]["created_at"] >= body["results"][1]["created_at"]
    assert body["results"][0]["estimated_cost"] in ("$0.02", None)


def test_detail_and_visibility(user_client, staff_client, summaries):
    mine, theirs = summaries[0], summaries[2]
    body = user_client.get(reverse("compute:summary", args=[mine.id])).json()
    assert body["recommended_provider"] == "runpod" and body["estimated_cost"] == "$0.02" and body["user"]
    assert user_client.get(reverse("compute:summary", args=[theirs.id])).status_code == 404
    assert staff_client.get(reverse("compute:summary", args=[theirs.id])).status_code == 200
    missing = staff_client.get(reverse("compute:summary", args=["not-a-uuid"]))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_summaries_need_authentication(anon_client, summaries):
    assert anon_client.get(LIST).status_code in (401, 403)
    assert anon_client.get(reverse("compute:summary", args=[summaries[0].id])).status_code in (401, 403)


def test_admin_is_read_only(client, staff, summaries):
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    assert client.get(reverse("admin:compute_jobsummary_changelist")).status_code == 200
    assert client.get(reverse("admin:compute_jobsummary_change", args=[summaries[0].id])).status_code == 200
    assert client.get(reverse("admin:compute_jobsummary_add")).status_code == 403
    assert client.post(reverse("admin:compute_jobsummary_delete", args=[summaries[0].id]),
                       {"post": "yes"}).status_code == 403
    assert JobSummary.objects.count() == 3
