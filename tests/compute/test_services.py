"""The advise service: constant query count, and one summary per idempotency key even under a race."""
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from compute.models import JobSummary
from compute.selectors import advice_inputs
from compute.services import advice_create
from compute.types import WorkloadSpec
from tests.compute.conftest import providers_create


@pytest.mark.django_db
@pytest.mark.parametrize("count", [10, 500])
def test_advice_create_query_count_is_constant(count, django_assert_num_queries, user):
    advice_inputs()  # the local GPU inventory (none here) is read once and kept until it changes
    providers_create(count)
    with django_assert_num_queries(3):  # the data versions, one read of the registry, the insert: no BEGIN/COMMIT
        advice_create(workload=WorkloadSpec(workload_type="cg_batch"), user=user, dry_run=False)
    with django_assert_num_queries(2):  # the same registry and inventory again: their versions, and the insert
        advice_create(workload=WorkloadSpec(workload_type="cg_batch"), user=user, dry_run=False)


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
