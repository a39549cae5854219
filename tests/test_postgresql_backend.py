"""comfyvn_site.postgresql: the per-request health check skips its round trip only while the server has said nothing."""
import select
import time

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, connections

connection = connections[DEFAULT_DB_ALIAS]  # the connection itself: django.db.connection is a proxy

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the backend is PostgreSQL's"),
]


@pytest.fixture
def round_trips(monkeypatch):
    """The times Django's own check (`SELECT 1`) ran."""
    calls = []
    real = type(connection).is_usable

    def is_usable(self):
        calls.append(self)
        return real(self)

    monkeypatch.setattr(type(connection), "is_usable", is_usable)
    return calls


def _new_request():
    """What request_started does to a persistent connection: its next query is checked again."""
    connection.ensure_connection()
    connection.health_check_enabled = True
    connection.health_check_done = False


def test_the_backend_is_in_use():
    assert type(connection).__module__ == "comfyvn_site.postgresql.base"


def test_a_silent_idle_connection_is_kept_without_a_round_trip(round_trips):
    _new_request()
    raw = connection.connection

    connection.close_if_health_check_failed()

    assert round_trips == [] and connection.health_check_done and connection.connection is raw


def test_a_terminated_backend_is_replaced_before_the_request_uses_it(round_trips):
    _new_request()
    raw = connection.connection
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [raw.info.backend_pid])
    poller = select.poll()
    poller.register(raw.fileno(), select.POLLIN)
    assert poller.poll(5000), "the server did not hang up within 5 s"

    connection.close_if_health_check_failed()

    assert round_trips == [connection] and connection.connection is None  # Django's check ran, failed, closed it
    with connection.cursor() as cursor:  # and the request goes on over a new connection
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    assert connection.connection is not raw


def test_inside_a_transaction_django_checks_as_before(round_trips):
    _new_request()
    connection.connection.execute("BEGIN")
    try:
        connection.close_if_health_check_failed()
        assert round_trips == [connection]
    finally:
        connection.connection.execute("ROLLBACK")


def test_pending_input_means_a_round_trip(round_trips):
    """Anything the server sent unasked (here a notification) is not silence: Django's check decides, and passes."""
    _new_request()
    raw = connection.connection
    raw.execute("LISTEN comfyvn_health_check_test")
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("NOTIFY comfyvn_health_check_test")
    deadline = time.monotonic() + 5
    poller = select.poll()
    poller.register(raw.fileno(), select.POLLIN)
    while not poller.poll(50) and time.monotonic() < deadline:
        pass

    connection.close_if_health_check_failed()

    assert round_trips == [connection] and connection.connection is raw
    raw.execute("UNLISTEN *")
