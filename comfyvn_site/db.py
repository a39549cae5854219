"""Statements every request repeats, run so that PostgreSQL keeps them prepared.

Django binds parameters on the client and compiles each ORM statement anew, so PostgreSQL parses and plans every
statement it receives, and compiling a query can cost more than running it. The few statements every request or
every advice makes (the token lookup, the data versions, the job-summary INSERT) are compiled once and run here on a
server-binding cursor instead; psycopg prepares a statement after five
runs on a connection (`prepare_threshold` in settings) and later runs skip parsing and planning. Every other query
keeps Django's own cursor. On other databases these are plain Django queries.
"""
import functools
from collections.abc import Sequence
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model
from django.db.models.sql import InsertQuery


def repeated_query_rows(sql: str, params) -> list[tuple]:
    """The rows of a query compiled once and run on every request (the token, the registry version, the GPUs)."""
    with _cursor(_database()) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def repeated_insert(instance: Model, *, durable: bool = True, only_if: tuple[str, Sequence] | None = None) -> bool:
    """Store a new `instance`, as `instance.save()` would, with an INSERT compiled once per model; say whether it was.

    Each field's value goes through its pre_save and get_db_prep_save, as in save(). For a model whose primary key
    has a Python default and that has no save() override or signal receivers (the job summary): none is called.

    `only_if` (an SQL condition and its parameters) stores the row only where the condition holds in the INSERT's
    own snapshot: the check costs no round trip of its own, and sees every commit made before the INSERT began.

    `durable=False` on PostgreSQL, outside a transaction, commits the row without waiting for the WAL flush
    (asynchronous commit, for this one statement only): the row is committed and visible at once, and survives
    anything but a crash of PostgreSQL or its machine within the next ~0.6 s (3 x wal_writer_delay). Inside a
    transaction the setting would reach the whole transaction's commit, so there, and on SQLite, it is durable.
    """
    db = _database()
    durable = durable or db.vendor != "postgresql" or not db.get_autocommit()
    condition, condition_params = only_if or ("", ())
    sql, fields = _insert_statement(type(instance), db.vendor, durable, condition)
    params = [field.get_db_prep_save(field.pre_save(instance, True), connection=db) for field in fields]
    with _cursor(db) as cursor:
        cursor.execute(sql, [*params, *condition_params])
        if cursor.rowcount != 1:
            return False
    instance._state.adding = False
    instance._state.db = db.alias
    return True


# set_config(..., is_local => true) lasts until the statement's own (implicit) transaction ends, and PostgreSQL reads
# synchronous_commit when that transaction commits: one statement, one round trip, this commit alone not flushed.
# (SET LOCAL would need a transaction block around it: two more round trips.) It runs only if a row was inserted.
_ASYNC_COMMIT = " RETURNING set_config('synchronous_commit', 'off', true)"


@functools.cache
def _insert_statement(model: type[Model], vendor: str, durable: bool = True,
                      condition: str = "") -> tuple[str, tuple]:
    fields = tuple(model._meta.local_concrete_fields)
    query = InsertQuery(model)
    query.insert_values(fields, [model()])
    [(sql, _params)] = query.get_compiler(connection=_database()).as_sql()
    if condition:  # INSERT INTO t (a, b) VALUES (%s, %s) -> INSERT INTO t (a, b) SELECT %s, %s WHERE condition
        head, values = sql.split(" VALUES ", 1)
        sql = f"{head} SELECT {values.removeprefix('(').removesuffix(')')} WHERE {condition}"
    return sql + ("" if durable else _ASYNC_COMMIT), fields


def _database():
    """This thread's default connection itself: `django.db.connection` is a proxy that looks it up again on every
    attribute, and an INSERT's field preparation reads it dozens of times (a repeated advice_create with its
    INSERT, in-process: 1.80 -> 1.64 ms)."""
    return connections[DEFAULT_DB_ALIAS]


@contextmanager
def _cursor(db):
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            yield cursor
        return
    from django.db.backends.postgresql.base import ServerBindingCursor

    # What connection.cursor() does (health check, connect, error wrapping, query logging), with the other class.
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    with db.wrap_database_errors:
        raw = ServerBindingCursor(db.connection)
    with db.make_debug_cursor(raw) if db.queries_logged else db.make_cursor(raw) as cursor:
        yield cursor
