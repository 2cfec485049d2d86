"""The database guards the chain itself, not only the events' immutability.

0002 refuses UPDATE/DELETE/TRUNCATE of events; that left three holes open to a
role that may append (the application's), triggers on:
- a plain INSERT of an event under a chain id with no head, or with links of its
  own choosing, which verification (head by head) never looked at;
- DELETE (or any UPDATE) of a chain head: its events orphaned, or the head reset
  below them so that the newest events could be re-written from there;
- an event dated 40 days back, filed in an old month among older events.

PostgreSQL, three guards, each a trigger whose function runs as the owner of the
tables (SECURITY DEFINER: row security or a narrower grant on the application's
role does not hide rows from the check):
- audit_auditevent, AFTER INSERT, per row (cloned onto every partition): the
  event's chain exists and names the same practice; its chain head now points at
  it (seq, hash and occurred_at): only the append statement of audit.chain, which
  advances the head in the same statement, can do that; its hash is the link of
  its prev_hash, seq and content; it is the only event of its chain with that
  seq. And BEFORE INSERT: its occurred_at is within audit_clock_tolerance() of the database's clock (a
  back-dated or future event is refused).
- audit_auditchain, AFTER UPDATE, per row: a head only moves one step, onto the
  event just appended (the one whose prev_hash is the old head); its id, key and
  practice never change.
- audit_auditchain, BEFORE INSERT: a new chain starts empty at the genesis hash,
  under the key of its practice (one chain per practice); BEFORE DELETE and
  TRUNCATE: refused (0010's function, with its escape for the test suite's flush).
AFTER triggers see the whole append statement's work: the CTE's head update and
its insert are both done when they run, and a refusal aborts the statement.

The clock check is a trigger of its own (audit_event_clock): tests that freeze
the application's clock (freezegun cannot move the database's) disable it in
their transaction, as the owner of the table can; the application's role owns
nothing and cannot.

SQLite (the embedded demo): chain heads cannot be deleted; the other checks are
PostgreSQL's (the portable append refuses a back-dated event itself).
"""

from django.db import migrations

PG_FORWARD = """
-- The tolerance of audit.chain.CLOCK_TOLERANCE (tests/audit check they agree).
CREATE OR REPLACE FUNCTION audit_clock_tolerance() RETURNS interval
LANGUAGE sql IMMUTABLE AS $$ SELECT interval '1 hour' $$;

CREATE OR REPLACE FUNCTION audit_guard_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    head record;
    same_seq integer;
BEGIN
    SELECT practice_id, last_seq, last_hash, last_occurred_at INTO head
    FROM audit_auditchain WHERE id = NEW.chain_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit event refused: chain % does not exist', NEW.chain_id
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.practice_id IS DISTINCT FROM head.practice_id THEN
        RAISE EXCEPTION 'audit event refused: practice % is not the practice of chain %',
            NEW.practice_id, NEW.chain_id USING ERRCODE = 'check_violation';
    END IF;
    IF (head.last_seq, head.last_hash, head.last_occurred_at)
       IS DISTINCT FROM (NEW.seq, NEW.hash::text, NEW.occurred_at) THEN
        RAISE EXCEPTION 'audit event refused: not appended with its chain head (chain %, seq %)',
            NEW.chain_id, NEW.seq USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.hash IS DISTINCT FROM encode(sha256(convert_to(
           NEW.prev_hash || ':' || NEW.seq::text || ':' || audit_payload_digest(
               NEW.occurred_at, NEW.actor_id, NEW.actor_username, NEW.role, NEW.action,
               NEW.object_type, NEW.object_id, NEW.practice_id, NEW.outcome, NEW.ip_address,
               NEW.user_agent, NEW.request_id, NEW.detail), 'UTF8')), 'hex') THEN
        RAISE EXCEPTION 'audit event refused: its hash is not its link (chain %, seq %)',
            NEW.chain_id, NEW.seq USING ERRCODE = 'check_violation';
    END IF;
    -- occurred_at is the head's: this looks in one month partition only.
    SELECT count(*) INTO same_seq FROM audit_auditevent
    WHERE chain_id = NEW.chain_id AND seq = NEW.seq AND occurred_at = NEW.occurred_at;
    IF same_seq <> 1 THEN
        RAISE EXCEPTION 'audit event refused: chain % already has seq %', NEW.chain_id, NEW.seq
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

-- A trigger of its own, so that a test freezing the application's clock can
-- turn this check alone off (as the tables' owner, in its transaction).
CREATE OR REPLACE FUNCTION audit_guard_event_clock() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF abs(extract(epoch FROM NEW.occurred_at - clock_timestamp()))
           > extract(epoch FROM audit_clock_tolerance()) THEN
        RAISE EXCEPTION 'audit event refused: occurred_at % is too far from the database clock',
            NEW.occurred_at USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION audit_guard_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    expected_key text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        expected_key := coalesce('practice:' || NEW.practice_id, 'platform');
        IF NEW.last_seq <> 0 OR NEW.last_hash <> repeat('0', 64)
           OR NEW.last_occurred_at IS NOT NULL OR NEW.key IS DISTINCT FROM expected_key THEN
            RAISE EXCEPTION 'audit chain refused: a chain starts empty under its practice''s key'
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    -- AFTER UPDATE
    IF (NEW.id, NEW.key, NEW.practice_id) IS DISTINCT FROM (OLD.id, OLD.key, OLD.practice_id) THEN
        RAISE EXCEPTION 'audit chain % refused: its id, key and practice never change', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    IF (NEW.last_seq, NEW.last_hash, NEW.last_occurred_at)
       IS NOT DISTINCT FROM (OLD.last_seq, OLD.last_hash, OLD.last_occurred_at) THEN
        RETURN NULL;
    END IF;
    IF NEW.last_seq <> OLD.last_seq + 1 OR NOT EXISTS (
        SELECT 1 FROM audit_auditevent
        WHERE chain_id = NEW.id AND seq = NEW.last_seq AND occurred_at = NEW.last_occurred_at
          AND hash = NEW.last_hash AND prev_hash = OLD.last_hash
    ) THEN
        RAISE EXCEPTION 'audit chain % refused: a head only moves onto the event appended with it',
            OLD.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER audit_event_clock BEFORE INSERT ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_guard_event_clock();
CREATE TRIGGER audit_event_guard AFTER INSERT ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_guard_event();
CREATE TRIGGER audit_chain_guard_insert BEFORE INSERT ON audit_auditchain
    FOR EACH ROW EXECUTE FUNCTION audit_guard_chain();
CREATE TRIGGER audit_chain_guard_update AFTER UPDATE ON audit_auditchain
    FOR EACH ROW EXECUTE FUNCTION audit_guard_chain();
CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_auditchain
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_table_change();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_auditchain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_table_change();
"""

PG_BACKWARD = """
DROP TRIGGER IF EXISTS audit_event_guard ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_event_clock ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_guard_event_clock();
DROP TRIGGER IF EXISTS audit_chain_guard_insert ON audit_auditchain;
DROP TRIGGER IF EXISTS audit_chain_guard_update ON audit_auditchain;
DROP TRIGGER IF EXISTS audit_chain_no_delete ON audit_auditchain;
DROP TRIGGER IF EXISTS audit_chain_no_truncate ON audit_auditchain;
DROP FUNCTION IF EXISTS audit_guard_chain();
DROP FUNCTION IF EXISTS audit_guard_event();
DROP FUNCTION IF EXISTS audit_clock_tolerance();
"""

SQLITE_FORWARD = [
    """CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_auditchain
       BEGIN SELECT RAISE(ABORT, 'audit_auditchain is append-only: DELETE refused'); END;""",
]
SQLITE_BACKWARD = ["DROP TRIGGER IF EXISTS audit_chain_no_delete;"]


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
    dependencies = [("audit", "0011_patient_ids_index")]

    operations = [migrations.RunPython(forward, backward)]
