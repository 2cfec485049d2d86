"""PostgreSQL, least-privilege roles (docs/tenancy.md):

- The TRUNCATE escape of the append-only triggers (the test suite's flush between
  transactional tests, `secretariat.audit_maintenance = 'on'`) is open to the
  table's owner as well as to a superuser: the owner can drop the trigger
  anyway, and the application role, which owns nothing and holds no TRUNCATE
  privilege, still cannot. The suite runs as the application role and flushes
  as the owner.
- Dropping a month of the trail goes through two SECURITY DEFINER functions
  owned by the owner, so that the maintenance role can do it without owning
  the table, and the application role cannot (EXECUTE is revoked from PUBLIC and
  granted to the maintenance role by accounts.dbroles after each migrate).
  Only monthly partitions (audit_auditevent_YYYY_MM) are accepted.
- The partitions are granted to no role but the maintenance role, which may read
  them (pg_dump reads each partition): row security is declared on the parent,
  so that reading a partition directly would go around it.
  audit_ensure_partitions (migration 0007) grants each new month the same way.
"""

from django.db import migrations

TRUNCATE_ALLOWED = """
IF TG_OP = 'TRUNCATE'
   AND current_setting('secretariat.audit_maintenance', true) = 'on'
   AND ((SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
        OR pg_has_role(current_user,
                       (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE')) THEN
    RETURN NULL;
END IF;
"""

PG_FORWARD = f"""
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {TRUNCATE_ALLOWED}
    RAISE EXCEPTION 'audit_auditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE OR REPLACE FUNCTION audit_refuse_table_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {TRUNCATE_ALLOWED}
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE OR REPLACE FUNCTION audit_monthly_partition(partition_name text) RETURNS regclass
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
    found regclass;
BEGIN
    IF partition_name !~ '^audit_auditevent_[0-9]{{4}}_[0-9]{{2}}$' THEN
        RAISE EXCEPTION 'not a monthly audit partition: %', partition_name;
    END IF;
    SELECT i.inhrelid::regclass INTO found FROM pg_inherits AS i
    WHERE i.inhparent = 'audit_auditevent'::regclass AND i.inhrelid = to_regclass(partition_name);
    IF found IS NULL THEN
        RAISE EXCEPTION 'no such audit partition: %', partition_name;
    END IF;
    RETURN found;
END;
$$;

CREATE OR REPLACE FUNCTION audit_lock_partition(partition_name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE',
                   audit_monthly_partition(partition_name));
END;
$$;

CREATE OR REPLACE FUNCTION audit_drop_partition(partition_name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    partition regclass := audit_monthly_partition(partition_name);
BEGIN
    EXECUTE format('ALTER TABLE audit_auditevent DETACH PARTITION %s', partition);
    EXECUTE format('DROP TABLE %s', partition);
END;
$$;

CREATE OR REPLACE FUNCTION audit_ensure_partitions(first_month date, last_month date)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    month date := date_trunc('month', first_month)::date;
    lower_bound timestamptz;
    upper_bound timestamptz;
    partition_name text;
    created integer := 0;
BEGIN
    WHILE month <= last_month LOOP
        partition_name := 'audit_auditevent_' || to_char(month, 'YYYY_MM');
        lower_bound := month::timestamp AT TIME ZONE 'UTC';
        upper_bound := (month + interval '1 month')::timestamp AT TIME ZONE 'UTC';
        IF to_regclass(partition_name) IS NULL AND NOT EXISTS (
            SELECT 1 FROM audit_auditevent_default
            WHERE occurred_at >= lower_bound AND occurred_at < upper_bound
        ) THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF audit_auditevent FOR VALUES FROM (%L) TO (%L)',
                partition_name, lower_bound, upper_bound);
            EXECUTE format(
                'CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON %I '
                'FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()', partition_name);
            IF to_regrole('secretariat_maintenance') IS NOT NULL THEN
                EXECUTE format('GRANT SELECT ON %I TO secretariat_maintenance', partition_name);
            END IF;
            created := created + 1;
        END IF;
        month := (month + interval '1 month')::date;
    END LOOP;
    RETURN created;
END;
$$;

REVOKE ALL ON FUNCTION audit_lock_partition(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_drop_partition(text) FROM PUBLIC;
"""

PG_BACKWARD = """
DROP FUNCTION IF EXISTS audit_drop_partition(text);
DROP FUNCTION IF EXISTS audit_lock_partition(text);
DROP FUNCTION IF EXISTS audit_monthly_partition(text);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0012_chain_guard")]

    operations = [migrations.RunPython(forward, backward)]
