"""The registry version: a number the database moves whenever a provider or catalog offer row changes.

The advisor keeps candidates per process and must notice every committed write on its next advice. It used to
aggregate both tables on every advice to find out (O(rows): 0.5 ms at 1,000 providers, 31 ms with an AWS-sized
catalog of 48,000 offers); reading this one row is O(1). Triggers, not application code, move it, so every writer
is covered: services, the admin, bulk upserts, raw SQL.

PostgreSQL: a deferred constraint trigger bumps `n` once per writing transaction, at commit, so the bump becomes
visible together with the rows it stands for, and the row lock it takes is held only while that transaction
commits (writers are not serialised behind a long import). Inside the writing transaction, which readers outside
it cannot see, each write also sets the transaction-local `comfyvn.registry_change` to a new sequence value; a
savepoint rolled back restores it along with the rows. A TRUNCATE (a test database being flushed) bumps at once.

SQLite: one writer at a time, so plain triggers bump `n` in the writing transaction itself, and draw a random
`token` beside it: a transaction rolled back (every test's) returns `n` to a value that another transaction's
uncommitted rows may have been cached under, but not its token. A later migration that makes SQLite rebuild one of
these tables drops its triggers with it; tests/compute/test_registry_version.py fails if that happens.
"""
from django.db import migrations

TABLES = ("providers_provider", "catalog_offer")

POSTGRESQL = """
CREATE TABLE compute_registry_version (id smallint PRIMARY KEY CHECK (id = 1), n bigint NOT NULL);
INSERT INTO compute_registry_version VALUES (1, 0);
CREATE SEQUENCE compute_registry_change_seq;

-- Called for every written row (a trigger's WHEN clause): marks the write inside its transaction and answers
-- whether it is the transaction's first, which alone queues the bump at commit.
CREATE FUNCTION compute_registry_touched() RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  first boolean := coalesce(current_setting('comfyvn.registry_change', true), '') = '';
BEGIN
  PERFORM set_config('comfyvn.registry_change', nextval('compute_registry_change_seq')::text, true);
  RETURN first;
END $$;

CREATE FUNCTION compute_registry_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE compute_registry_version SET n = n + 1 WHERE id = 1;
  RETURN NULL;
END $$;
"""

POSTGRESQL_TABLE = """
CREATE CONSTRAINT TRIGGER compute_registry_version_bump AFTER INSERT OR UPDATE OR DELETE ON {table}
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (compute_registry_touched())
  EXECUTE FUNCTION compute_registry_bump();
CREATE TRIGGER compute_registry_version_truncate AFTER TRUNCATE ON {table}
  FOR EACH STATEMENT EXECUTE FUNCTION compute_registry_bump();
"""

POSTGRESQL_DROP = """
DROP TRIGGER compute_registry_version_bump ON {table};
DROP TRIGGER compute_registry_version_truncate ON {table};
"""

POSTGRESQL_DROP_ALL = """
DROP FUNCTION compute_registry_bump();
DROP FUNCTION compute_registry_touched();
DROP SEQUENCE compute_registry_change_seq;
DROP TABLE compute_registry_version;
"""

SQLITE = (
    "CREATE TABLE compute_registry_version (id integer PRIMARY KEY CHECK (id = 1), n integer NOT NULL, token blob)",
    "INSERT INTO compute_registry_version VALUES (1, 0, randomblob(8))",
)

SQLITE_TABLE = """
CREATE TRIGGER compute_registry_version_{table}_{event} AFTER {event} ON {table}
BEGIN UPDATE compute_registry_version SET n = n + 1, token = randomblob(8) WHERE id = 1; END;
"""

SQLITE_EVENTS = ("insert", "update", "delete")


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL + "".join(POSTGRESQL_TABLE.format(table=table) for table in TABLES))
    elif vendor == "sqlite":
        for statement in SQLITE:  # its driver runs one statement per call
            schema_editor.execute(statement)
        for table in TABLES:
            for event in SQLITE_EVENTS:
                schema_editor.execute(SQLITE_TABLE.format(table=table, event=event).strip())
    else:
        raise NotImplementedError(f"the registry version needs PostgreSQL or SQLite, not {vendor}")


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("".join(POSTGRESQL_DROP.format(table=table) for table in TABLES) + POSTGRESQL_DROP_ALL)
    elif vendor == "sqlite":
        for table in TABLES:
            for event in SQLITE_EVENTS:
                schema_editor.execute(f"DROP TRIGGER compute_registry_version_{table}_{event}")
        schema_editor.execute("DROP TABLE compute_registry_version")


class Migration(migrations.Migration):

    dependencies = [
        ("compute", "0002_job_summary_plain_indexes"),
        ("providers", "0002_provider_secrets_set_and_validators"),
        ("catalog", "0003_offer_updated_at"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
