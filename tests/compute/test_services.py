"""The advise service: constant query count, one summary per idempotency key even under a race, and which summaries
wait for the disk flush."""
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compute.advisor import workload_analyse
from compute.models import JobSummary
from compute.selectors import advice_inputs, advice_inputs_kept, data_versions_last_seen
from compute.services import advice_create, offer_need
from compute.types import WorkloadSpec
from providers.models import Provider
from tests.compute.conftest import providers_create


@pytest.mark.django_db
@pytest.mark.parametrize("count", [10, 500])
def test_advice_create_query_count_is_constant(count, django_assert_num_queries, user):
    advice_inputs()  # the data versions and the local GPU inventory (none here), read once and kept
    providers_create(count)
    # Nothing is kept under the versions last read for this need, so: the versions, which have moved (providers
    # were added), one read of the registry, the insert; no BEGIN/COMMIT.
    with django_assert_num_queries(3):
        advice_create(workload=WorkloadSpec(workload_type="cg_batch"), user=user, dry_run=False)
    with django_assert_num_queries(1):  # nothing moved: the insert alone, which checks the versions itself
        advice_create(workload=WorkloadSpec(workload_type="cg_batch"), user=user, dry_run=False)
    with django_assert_num_queries(1):  # a dry run stores nothing, so it reads the versions
        advice_create(workload=WorkloadSpec(workload_type="cg_batch"), user=user, dry_run=True)


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_idempotency_key_store_one_summary(user):
    """Two workers racing on the same key: the unique constraint decides, the loser replays the winner's row."""
    providers_create(3)
    workload = WorkloadSpec(workload_type="cg_batch")

    def advise_once(_):
        try:
            return advice_create(workload=workload, user=user, idempotency_key="race").summary.id
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = set(pool.map(advise_once, range(8)))
    assert len(ids) == 1 and JobSummary.objects.count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="asynchronous commit is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("key", "durable_setting", "flushed"), [
    ("", False, False),  # an unkeyed retry stores a new summary anyway
    ("job-7", False, True),  # a keyed retry must find this one, even after a crash
    ("", True, True),  # the operator asked for every summary to be flushed
])
def test_only_keyed_summaries_wait_for_the_flush_by_default(settings, user, key, durable_setting, flushed):
    settings.COMFYVN_JOB_SUMMARY_DURABLE = durable_setting
    providers_create(3)
    with CaptureQueriesContext(connection) as queries:
        advice_create(workload=WorkloadSpec(workload_type="cg_batch"), user=user, idempotency_key=key)
    inserts = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("INSERT")]
    unflushed = "set_config('synchronous_commit', 'off', true)"
    assert inserts and {unflushed not in insert for insert in inserts} == {flushed}
    assert JobSummary.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_write_since_the_versions_were_last_read_is_seen_by_the_next_advice(user):
    """Advice starts from the data versions last read; a provider change committed since makes the summary's INSERT
    refuse, and the advice is given again from the registry as it now is: never an answer from the one before."""
    providers_create(3)
    workload = WorkloadSpec(workload_type="cg_batch")
    first = advice_create(workload=workload, user=user)
    assert advice_create(workload=workload, user=user).summary.provider_id == first.summary.provider_id
    Provider.objects.filter(id=first.summary.provider_id).update(active=False)

    second = advice_create(workload=workload, user=user)
    assert second.advice.chosen_remote.candidate.provider.id == second.summary.provider_id
    assert second.summary.provider_id not in {"", first.summary.provider_id}
    assert JobSummary.objects.filter(provider_id=second.summary.provider_id).count() == 1  # one row, not two
    assert JobSummary.objects.count() == 3


@pytest.mark.django_db
def test_advice_skips_reading_the_versions_only_with_inputs_kept_under_them(django_assert_num_queries, user):
    """Under versions that may have moved nothing is built (a build would read data newer than its label), so a
    need this process keeps nothing for reads the versions first, as before."""
    providers_create(3)
    small, large = WorkloadSpec(workload_type="cg_batch"), WorkloadSpec(workload_type="cg_batch", min_vram_gb=40)
    large_need = offer_need(workload_analyse(large))
    advice_create(workload=small, user=user)
    assert advice_inputs_kept(need=large_need, versions=data_versions_last_seen()) is None
    with django_assert_num_queries(2):  # the versions, then the insert
        advice_create(workload=large, user=user)
    kept = advice_inputs_kept(need=large_need, versions=data_versions_last_seen())
    assert kept is not None and all(a is b for a, b in zip(kept, advice_inputs(need=large_need), strict=True))
    with django_assert_num_queries(1):
        advice_create(workload=large, user=user)
    assert JobSummary.objects.count() == 3
