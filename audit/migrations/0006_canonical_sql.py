"""PostgreSQL renders an event's canonical payload itself, so that verification
recomputes the chain in the database instead of in Python (audit.chain.verify_chain).

audit_canonical(...) returns exactly the text audit.chain hashes:
json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
with occurred_at as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC). Strings go through
PostgreSQL's JSON string escaping (to_json / jsonb output), which escapes the same
characters as Python's json module (\\" \\\\ \\n \\r \\t \\b \\f, other controls as
lowercase \\u00xx, everything else raw); object keys are ordered with COLLATE "C",
byte order of UTF-8, which is code point order like Python's sorted(). The
cross-check lives in tests/audit/test_canonical_sql.py.

The functions are STABLE, not IMMUTABLE: to_json, to_char and convert_to are
STABLE in PostgreSQL, and a SQL function declared IMMUTABLE over STABLE calls is
not inlined by the planner (verification is then several times slower). Their
result does not actually depend on settings: fixed format, explicit UTC.
SQLite: nothing; verification there stays in Python.
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION audit_canonical_json(v jsonb) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    rendered text;
BEGIN
    -- Scalars are rendered in place (jsonb output: same string escaping as
    -- to_json; integers as digits): a recursive call per value costs ~15%.
    CASE jsonb_typeof(v)
    WHEN 'object' THEN
        SELECT '{' || string_agg(
                   to_json(k)::text || ':' || CASE WHEN jsonb_typeof(x) IN ('object', 'array')
                                                   THEN audit_canonical_json(x) ELSE x::text END,
                   ',' ORDER BY k COLLATE "C") || '}'
        INTO rendered FROM jsonb_each(v) AS e(k, x);
        RETURN coalesce(rendered, '{}');
    WHEN 'array' THEN
        SELECT '[' || string_agg(
                   CASE WHEN jsonb_typeof(x) IN ('object', 'array')
                        THEN audit_canonical_json(x) ELSE x::text END,
                   ',' ORDER BY i) || ']'
        INTO rendered FROM jsonb_array_elements(v) WITH ORDINALITY AS a(x, i);
        RETURN coalesce(rendered, '[]');
    ELSE
        RETURN v::text;
    END CASE;
END;
$$;

CREATE OR REPLACE FUNCTION audit_canonical(
    occurred_at timestamptz, actor_id bigint, actor_username text, role text, action text,
    object_type text, object_id text, practice_id bigint, outcome text, ip_address text,
    user_agent text, request_id text, detail jsonb
) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT '{"action":' || coalesce(to_json(action)::text, 'null')
    || ',"actor_id":' || coalesce(actor_id::text, 'null')
    || ',"actor_username":' || coalesce(to_json(actor_username)::text, 'null')
    || ',"detail":' || CASE WHEN detail = '{}'::jsonb THEN '{}'
                            ELSE coalesce(audit_canonical_json(detail), 'null') END
    || ',"ip_address":' || coalesce(to_json(ip_address)::text, 'null')
    || ',"object_id":' || coalesce(to_json(object_id)::text, 'null')
    || ',"object_type":' || coalesce(to_json(object_type)::text, 'null')
    || ',"occurred_at":"'
    || to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '"'
    || ',"outcome":' || coalesce(to_json(outcome)::text, 'null')
    || ',"practice_id":' || coalesce(practice_id::text, 'null')
    || ',"request_id":' || coalesce(to_json(request_id)::text, 'null')
    || ',"role":' || coalesce(to_json(role)::text, 'null')
    || ',"user_agent":' || coalesce(to_json(user_agent)::text, 'null')
    || '}'
$$;

CREATE OR REPLACE FUNCTION audit_payload_digest(
    occurred_at timestamptz, actor_id bigint, actor_username text, role text, action text,
    object_type text, object_id text, practice_id bigint, outcome text, ip_address text,
    user_agent text, request_id text, detail jsonb
) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT encode(sha256(convert_to(audit_canonical(
    occurred_at, actor_id, actor_username, role, action, object_type, object_id,
    practice_id, outcome, ip_address, user_agent, request_id, detail), 'UTF8')), 'hex')
$$;
"""

PG_BACKWARD = """
DROP FUNCTION IF EXISTS audit_payload_digest(
    timestamptz, bigint, text, text, text, text, text, bigint, text, text, text, text, jsonb);
DROP FUNCTION IF EXISTS audit_canonical(
    timestamptz, bigint, text, text, text, text, text, bigint, text, text, text, text, jsonb);
DROP FUNCTION IF EXISTS audit_canonical_json(jsonb);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_alerts_moved_to_compliance")]

    operations = [migrations.RunPython(forward, backward)]
