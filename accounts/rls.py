"""PostgreSQL row-level security of the tenant tables: the SQL that migrations run.

Migrations call these functions with literal table names (a migration must not
depend on today's models); tests/tenancy/test_rls.py checks that every table of
`accounts.tenancy.tenant_models()` has row security enabled and the policy of its
kind. Changing what a function here emits changes future migrations only: add a
migration that replaces the policies, never edit one that has run.

The policies do not FORCE row security: the tables' owner (the role that runs
the migrations) is not subject to them, the application role is.
"""

FUNCTIONS = """
CREATE OR REPLACE FUNCTION secretariat_practice_id() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT nullif(current_setting('secretariat.practice_id', true), '')::bigint
$$;
"""

DROP_FUNCTIONS = "DROP FUNCTION IF EXISTS secretariat_practice_id();"

# The practice set for this transaction, NULL without one. Written out in the
# policies rather than calling secretariat_practice_id() (the same expression):
# PostgreSQL inlines a SQL function by parsing its body again at every planning,
# which cost about 20 µs of planning per tenant table in each statement
# (docs/scaling.md, accounts migration 0009). The planner treats this stable
# expression as a constant: equated with the query's own `practice_id = <id>`,
# it becomes a one-time filter, or an index condition; never a per-row filter.
# (Wrapping it in a scalar subquery, to have it run once as an InitPlan, cost
# more planning still and saved nothing: it runs once already.)
CURRENT_PRACTICE = "nullif(current_setting('secretariat.practice_id', true), '')::bigint"
# Practice data: the rows of the practice set for this transaction, none without one.
PRACTICE_DATA = f"practice_id = {CURRENT_PRACTICE}"
# Provider records: that practice's rows (and rows of no practice) inside a
# practice's transaction, every row outside one.
PROVIDER_RECORD = (
    f"{CURRENT_PRACTICE} IS NULL OR practice_id IS NULL OR practice_id = {CURRENT_PRACTICE}"
)
# The audit trail: read and appended from any context, never changed (no UPDATE
# or DELETE policy). Not filtered by practice: compliance reads across practices,
# an audit write must never fail for want of a setting, and a policy would keep
# the planner from using the trail's jsonb index (its operators are not
# LEAKPROOF, so PostgreSQL will not evaluate them ahead of a policy).
AUDIT_TRAIL = "true"
CONDITIONS = {"practice": PRACTICE_DATA, "provider": PROVIDER_RECORD, "audit": AUDIT_TRAIL}
POLICY_NAMES = {"practice": "practice_data", "provider": "provider_record", "audit": "audit_trail"}


def enable(table: str, kind: str, commands: tuple[str, ...] = ("ALL",)) -> str:
    """Enable row security on `table` with the policy of `kind` ("practice",
    "provider" or "audit") for each command listed (ALL, or some of SELECT, INSERT, UPDATE,
    DELETE: a command without a policy is refused to the application role)."""
    condition = CONDITIONS[kind]
    statements = [f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;"]
    for command in commands:
        name = POLICY_NAMES[kind] + ("" if command == "ALL" else f"_{command.lower()}")
        using = "" if command == "INSERT" else f" USING ({condition})"
        check = "" if command in ("SELECT", "DELETE") else f" WITH CHECK ({condition})"
        statements.append(f"CREATE POLICY {name} ON {table} FOR {command}{using}{check};")
    return "\n".join(statements)


def disable(table: str) -> str:
    names = [
        name + suffix
        for name in POLICY_NAMES.values()
        for suffix in ("", "_select", "_insert", "_update", "_delete")
    ]
    drops = [f"DROP POLICY IF EXISTS {name} ON {table};" for name in names]
    return "\n".join([*drops, f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;"])
