"""The database refuses UPDATE, DELETE and TRUNCATE on the signed digests too
(audit_auditdigest), like 0002 does for the events: digests are only ever
inserted (audit.services.digest_write), and a digest row that can be deleted
lets a rewrite of the newest events go unseen by the verification run in the
database (the daily export outside it still sees it).

A function of its own rather than 0002's audit_refuse_change(): that one names
audit_auditevent in its message and guards the event partitions too; this one
names the table it guards (TG_TABLE_NAME). Same escape for TRUNCATE: a superuser
session that set `secretariat.audit_maintenance = 'on'` (the test suite's flush).
SQLite: row triggers. Django rebuilds a SQLite table (dropping its triggers) on
some schema changes, so this must run after every migration altering the table.
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION audit_refuse_table_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE'
       AND current_setting('secretariat.audit_maintenance', true) = 'on'
       AND (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_digest_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_auditdigest
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_table_change();
CREATE TRIGGER audit_digest_no_truncate
    BEFORE TRUNCATE ON audit_auditdigest
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_table_change();
"""

PG_BACKWARD = """
DROP TRIGGER IF EXISTS audit_digest_no_update_delete ON audit_auditdigest;
DROP TRIGGER IF EXISTS audit_digest_no_truncate ON audit_auditdigest;
DROP FUNCTION IF EXISTS audit_refuse_table_change();
"""

SQLITE_FORWARD = [
    """CREATE TRIGGER audit_digest_no_update BEFORE UPDATE ON audit_auditdigest
       BEGIN SELECT RAISE(ABORT, 'audit_auditdigest is append-only: UPDATE refused'); END;""",
    """CREATE TRIGGER audit_digest_no_delete BEFORE DELETE ON audit_auditdigest
       BEGIN SELECT RAISE(ABORT, 'audit_auditdigest is append-only: DELETE refused'); END;""",
]

SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS audit_digest_no_update;",
    "DROP TRIGGER IF EXISTS audit_digest_no_delete;",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    # After 0008: it rebuilds audit_auditdigest on SQLite, which drops triggers.
    dependencies = [("audit", "0008_digest_kind")]

    operations = [migrations.RunPython(forward, backward)]
