"""comfyvn_site.db: the advice path's statements, compiled once and kept prepared (PostgreSQL), act as the ORM's;
a non-durable insert skips only its own commit's flush."""
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from comfyvn_site.db import _insert_statement, repeated_insert, repeated_query_rows
from compute.models import JobSummary

pytestmark = pytest.mark.django_db


def _summary(**overrides) -> JobSummary:
    values = {"source": "scheduler", "choice": "remote", "provider_id": "runpod", "provider_name": "RunPod ü",
              "offer": {"offer_id": "runpod:meta", "hourly_usd": "0.34", "regions": ["eu"]},
              "estimated_cost_usd": Decimal("0.23"), "billed_minutes": Decimal("41.5"), "policy_hint": "",
              "min_vram_gb": 16.0, "asset_total_mb": 2400.5, "warnings": [{"code": "x", "message": "y"}],
              "reason": "cheapest", "workload": {"assets": [], "nested": {"a": [1, None, True]}},
              "analysis": {"mode": "batch"}}
    return JobSummary(**{**values, **overrides})


def test_repeated_insert_stores_what_save_stores(django_user_model):
    user = django_user_model.objects.create(username="ops")
    saved, inserted = _summary(user=user), _summary(user=user)
    saved.save()
    repeated_insert(inserted)

    assert not inserted._state.adding and inserted._state.db == "default"
    assert inserted.created_at is not None  # auto_now_add ran, as in save()
    stored = {row.id: row for row in JobSummary.objects.all()}
    assert set(stored) == {saved.id, inserted.id}
    as_saved, as_inserted = model_to_dict(stored[saved.id]), model_to_dict(stored[inserted.id])
    assert as_inserted == as_saved and as_inserted["user"] == user.pk


def test_a_duplicate_is_djangos_integrity_error():
    first = _summary()
    repeated_insert(first)
    with pytest.raises(IntegrityError), transaction.atomic():
        repeated_insert(_summary(id=first.id))
    assert JobSummary.objects.count() == 1


def test_statements_are_logged_as_queries():
    with CaptureQueriesContext(connection) as queries:
        repeated_query_rows("SELECT %s", [7])
        repeated_insert(_summary())
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["SELECT", "INSERT"]


def test_rows_are_the_cursors():
    assert repeated_query_rows("SELECT %s, %s", ["a", 2]) == [("a", 2)]


def test_a_failing_query_is_djangos_error_and_the_connection_goes_on():
    with pytest.raises(DatabaseError), transaction.atomic():
        repeated_query_rows("SELECT * FROM no_such_table", [])
    assert repeated_query_rows("SELECT %s", [5]) == [(5,)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_postgresql_prepares_a_statement_after_five_runs():
    sql = f"SELECT %s::int + 1 AS marker_{uuid.uuid4().hex}"
    prepared = "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s"
    for run in range(1, 8):
        assert repeated_query_rows(sql, [run]) == [(run + 1,)]
        with connection.cursor() as cursor:
            cursor.execute(prepared, [f"%{sql.split()[-1]}%"])
            assert cursor.fetchone()[0] == (1 if run >= 6 else 0), run


postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="asynchronous commit is PostgreSQL's")


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def _inserts(queries) -> list[str]:
    return [query["sql"] for query in queries.captured_queries if query["sql"].startswith("INSERT")]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_non_durable_statement_skips_the_flush_of_its_own_transaction_only():
    """Run inside a transaction of the test's, so the setting can be read before the commit it applies to."""
    summary = _summary()
    sql, fields = _insert_statement(JobSummary, connection.vendor, False)
    params = [field.get_db_prep_save(field.pre_save(summary, True), connection=connection) for field in fields]
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        assert _synchronous_commit() == "off"
    assert _synchronous_commit() == "on"
    assert JobSummary.objects.filter(id=summary.id).exists()


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_non_durable_insert_is_committed_at_once_and_leaves_the_session_durable():
    summary = _summary()
    with CaptureQueriesContext(connection) as queries:
        repeated_insert(summary, durable=False)
    assert _inserts(queries)[0].endswith("RETURNING set_config('synchronous_commit', 'off', true)")
    assert _synchronous_commit() == "on"

    def seen_elsewhere(_):
        try:
            return JobSummary.objects.filter(id=summary.id).exists()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:  # another connection: the row is committed, not just written
        assert list(pool.map(seen_elsewhere, [0])) == [True]


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_or_off_postgresql_every_insert_is_durable():
    """The setting would reach the surrounding transaction's commit, and with it writes that asked for no such thing."""
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        repeated_insert(_summary(), durable=False)
        if connection.vendor == "postgresql":
            assert _synchronous_commit() == "on"
    with CaptureQueriesContext(connection) as outside:
        repeated_insert(_summary(), durable=False)
    assert "set_config" not in _inserts(queries)[0]
    assert ("set_config" in _inserts(outside)[0]) == (connection.vendor == "postgresql")
    assert JobSummary.objects.count() == 2


def test_a_conditional_insert_stores_the_row_only_where_its_condition_holds():
    refused, stored = _summary(), _summary()
    assert repeated_insert(refused, only_if=("EXISTS (SELECT 1 FROM compute_jobsummary WHERE source = %s)", ["x"]))\
        is False
    assert refused._state.adding and not JobSummary.objects.exists()
    assert repeated_insert(stored, only_if=("NOT EXISTS (SELECT 1 FROM compute_jobsummary WHERE source = %s)",
                                            ["x"])) is True
    assert not stored._state.adding
    assert model_to_dict(JobSummary.objects.get()) == model_to_dict(stored)
