"""Least-privilege PostgreSQL roles (docs/tenancy.md).

- OWNER owns the schema: it runs the migrations (and, as the tables' owner, is
  not subject to row security). In production only the DBA logs in as it.
- APP is the application (web tier and Celery workers): it owns nothing, cannot
  bypass row security, holds no TRUNCATE anywhere, no UPDATE/DELETE on the audit
  trail and its digests, nothing on the audit partitions themselves, and cannot
  drop them.
- MAINTENANCE is the operators' role for backups, restore drills and audit
  partition drops: it bypasses row security (a backup reads every practice),
  may create the drill's scratch database, executes the partition functions
  (audit migration 0013), and has APP's table privileges through membership.
  The web tier is never given its credentials.

`create_roles` (the `db_roles` command, run by a superuser) creates them
idempotently and never alters a role that exists (other installations on the
same cluster may rely on it). `grant_privileges` runs after every migrate (the
post_migrate signal) as the owner, and does nothing when the roles do not exist
(SQLite, or a superuser-only database).
"""

from django.db import connection, connections

OWNER = "secretariat_owner"
APP = "secretariat_app"
MAINTENANCE = "secretariat_maintenance"

ATTRIBUTES = {
    OWNER: "LOGIN NOSUPERUSER NOCREATEROLE CREATEDB NOBYPASSRLS",
    APP: "LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS",
    MAINTENANCE: "LOGIN NOSUPERUSER NOCREATEROLE CREATEDB BYPASSRLS",
}

# Audit tables: what the application may do beyond reading (the triggers refuse
# the rest anyway; the missing privilege is the first wall).
AUDIT_PRIVILEGES = {
    "audit_auditevent": "SELECT, INSERT",
    "audit_auditdigest": "SELECT, INSERT",
    "audit_auditchain": "SELECT, INSERT, UPDATE",
    "django_migrations": "SELECT",
}
MAINTENANCE_FUNCTIONS = ["audit_lock_partition(text)", "audit_drop_partition(text)"]


def create_roles(cursor, passwords: dict[str, str] | None = None) -> list[str]:
    """Create the missing roles; set the passwords given (only for roles created
    now, unless `passwords` names them explicitly). Returns the roles created."""
    created = []
    for role, attributes in ATTRIBUTES.items():
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            # Two runs may race: the loser's CREATE fails and the role exists.
            cursor.execute(
                f"DO $$ BEGIN CREATE ROLE {role} {attributes}; "
                "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
            created.append(role)
        password = (passwords or {}).get(role)
        if password:
            cursor.execute(f"ALTER ROLE {role} PASSWORD %s", [password])
    cursor.execute(
        "SELECT 1 FROM pg_auth_members WHERE roleid = to_regrole(%s) AND member = to_regrole(%s)",
        [APP, MAINTENANCE],
    )
    if cursor.fetchone() is None:
        cursor.execute(f"GRANT {APP} TO {MAINTENANCE}")
    return created


def hand_database_to_owner(cursor, database: str) -> None:
    """The database and its public schema belong to the owner role (PostgreSQL 15
    lets only the schema's owner create tables in it)."""
    cursor.execute(f"ALTER DATABASE {connection.ops.quote_name(database)} OWNER TO {OWNER}")
    cursor.execute(f"ALTER SCHEMA public OWNER TO {OWNER}")


def roles_exist(cursor) -> bool:
    cursor.execute("SELECT count(*) FROM pg_roles WHERE rolname IN (%s, %s)", [APP, MAINTENANCE])
    return cursor.fetchone()[0] == 2


def grant_privileges(using: str = "default", **kwargs) -> None:
    """post_migrate: the application's privileges on every table (partitions
    excepted) and sequence of the schema, audit tables restricted; the
    maintenance functions to the maintenance role."""
    db = connections[using]
    if db.vendor != "postgresql":
        return
    with db.cursor() as cursor:
        if not roles_exist(cursor):
            return
        cursor.execute(
            "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
            " AND pg_has_role(current_user, c.relowner, 'USAGE')"
        )
        tables = [name for (name,) in cursor.fetchall()]
        if "django_migrations" not in tables:
            return  # not the owner (a flush run as the application, say)
        for table in tables:
            privileges = AUDIT_PRIVILEGES.get(table, "SELECT, INSERT, UPDATE, DELETE")
            quoted = db.ops.quote_name(table)
            cursor.execute(f"REVOKE ALL ON {quoted} FROM {APP}")
            cursor.execute(f"GRANT {privileges} ON {quoted} TO {APP}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP}")
        # Partitions: read by the maintenance role only (backups), around which
        # the parent's row security would otherwise be bypassed.
        cursor.execute(
            "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relispartition AND c.relkind IN ('r', 'p')"
            " AND pg_has_role(current_user, c.relowner, 'USAGE')"
        )
        for (partition,) in cursor.fetchall():
            cursor.execute(f"GRANT SELECT ON {db.ops.quote_name(partition)} TO {MAINTENANCE}")
        cursor.execute("SELECT to_regprocedure(%s)", [MAINTENANCE_FUNCTIONS[0]])
        if cursor.fetchone()[0] is not None:
            for function in MAINTENANCE_FUNCTIONS:
                cursor.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {MAINTENANCE}")
