"""Data versions: numbers the database moves whenever a provider, catalog offer or GPU inventory row changes.

The advisor keeps candidates and local GPUs per process and must notice every committed write on its next advice.
It used to aggregate the provider and offer tables on every advice to find out (O(rows): 0.5 ms at 1,000
providers, 31 ms with an AWS-sized catalog of 48,000 offers) and to read the whole GPU inventory (4.7 ms for 50
hosts of 8 GPUs); reading this one row is O(1). Triggers, not application code, move it, so every writer is
covered: services, the admin, bulk upserts, raw SQL. `registry` covers providers and offers, `gpu` the inventory.

PostgreSQL: a deferred constraint trigger adds one at commit, once per writing transaction and domain, so the new
number becomes visible together with the rows it stands for, and the row lock it takes is held only while that
transaction commits (writers do not queue behind a long import; one row, so two domains cannot deadlock). Inside
the writing transaction, which readers outside it cannot see, each write also sets the transaction-local
`comfyvn.change_<domain>` to a new sequence value; a savepoint rolled back restores it along with the rows. A
TRUNCATE (a test database being flushed) bumps at once.

SQLite: one writer at a time, so plain triggers add one in the writing transaction itself, and draw a random token
beside it: a transaction rolled back (every test's) returns the number to a value that another transaction's
uncommitted rows may have been cached under, but not its token. A later migration that makes SQLite rebuild one of
these tables drops its triggers with it; tests/compute/test_data_version.py fails if that happens.
"""
from django.db import migrations

TABLES = {"providers_provider": "registry", "catalog_offer": "registry",
          "gpu_gpuhost": "gpu", "gpu_gpudevice": "gpu"}

POSTGRESQL = """
CREATE TABLE compute_data_version (
  id smallint PRIMARY KEY CHECK (id = 1), registry bigint NOT NULL, gpu bigint NOT NULL);
INSERT INTO compute_data_version VALUES (1, 0, 0);
CREATE SEQUENCE compute_data_change_seq;

-- Called for every written row (a trigger's WHEN clause): marks the write inside its transaction and answers
-- whether it is the transaction's first in this domain, which alone queues the bump at commit.
CREATE FUNCTION compute_data_touched(domain text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  setting text := 'comfyvn.change_' || domain;
  first boolean := coalesce(current_setting(setting, true), '') = '';
BEGIN
  PERFORM set_config(setting, nextval('compute_data_change_seq')::text, true);
  RETURN first;
END $$;

CREATE FUNCTION compute_data_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE compute_data_version SET registry = registry + (TG_ARGV[0] = 'registry')::int,
                                  gpu = gpu + (TG_ARGV[0] = 'gpu')::int
   WHERE id = 1;
  RETURN NULL;
END $$;
"""

POSTGRESQL_TABLE = """
CREATE CONSTRAINT TRIGGER compute_data_version_bump AFTER INSERT OR UPDATE OR DELETE ON {table}
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (compute_data_touched('{domain}'))
  EXECUTE FUNCTION compute_data_bump('{domain}');
CREATE TRIGGER compute_data_version_truncate AFTER TRUNCATE ON {table}
  FOR EACH STATEMENT EXECUTE FUNCTION compute_data_bump('{domain}');
"""

POSTGRESQL_DROP = """
DROP TRIGGER compute_data_version_bump ON {table};
DROP TRIGGER compute_data_version_truncate ON {table};
"""

POSTGRESQL_DROP_ALL = """
DROP FUNCTION compute_data_bump();
DROP FUNCTION compute_data_touched(text);
DROP SEQUENCE compute_data_change_seq;
DROP TABLE compute_data_version;
"""

SQLITE = (
    "CREATE TABLE compute_data_version (id integer PRIMARY KEY CHECK (id = 1), registry integer NOT NULL, "
    "registry_token blob, gpu integer NOT NULL, gpu_token blob)",
    "INSERT INTO compute_data_version VALUES (1, 0, randomblob(8), 0, randomblob(8))",
)

SQLITE_TABLE = """
CREATE TRIGGER compute_data_version_{table}_{event} AFTER {event} ON {table}
BEGIN UPDATE compute_data_version SET {domain} = {domain} + 1, {domain}_token = randomblob(8) WHERE id = 1; END;
"""

SQLITE_EVENTS = ("insert", "update", "delete")


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL + "".join(POSTGRESQL_TABLE.format(table=table, domain=domain)
                                                   for table, domain in TABLES.items()))
    elif vendor == "sqlite":
        for statement in SQLITE:  # its driver runs one statement per call
            schema_editor.execute(statement)
        for table, domain in TABLES.items():
            for event in SQLITE_EVENTS:
                schema_editor.execute(SQLITE_TABLE.format(table=table, event=event, domain=domain).strip())
    else:
        raise NotImplementedError(f"the data versions need PostgreSQL or SQLite, not {vendor}")


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("".join(POSTGRESQL_DROP.format(table=table) for table in TABLES) + POSTGRESQL_DROP_ALL)
    elif vendor == "sqlite":
        for table in TABLES:
            for event in SQLITE_EVENTS:
                schema_editor.execute(f"DROP TRIGGER compute_data_version_{table}_{event}")
        schema_editor.execute("DROP TABLE compute_data_version")


class Migration(migrations.Migration):

    dependencies = [
        ("compute", "0002_job_summary_plain_indexes"),
        ("providers", "0002_provider_secrets_set_and_validators"),
        ("catalog", "0003_offer_updated_at"),
        ("gpu", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
