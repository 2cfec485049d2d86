"""The suite runs as the application role (accounts/dbroles.py), like production.

DATABASE_URL names a superuser (make test: postgres on 127.0.0.1). At the start
of the session, as that superuser, the roles are created (idempotently) together
with a test login, `secretariat_test`: NOINHERIT, so it holds no privilege of its
own, and a member of the owner, application and maintenance roles, so that a
connection can take each of them with SET ROLE. Every connection of the suite
logs in as it and takes a role at once:

- the owner while the test database is created and migrated, dropped at the end,
  and for the flush between transactional tests (pytest-django's TRUNCATE: the
  application role holds no TRUNCATE privilege, and the audit triggers let only
  the owner or a superuser through);
- the application role for everything else: the application's code, the tests'
  own queries, the worker threads. current_user is then the application role,
  so privileges and row security are exactly production's.

`as_role()` lets a test act as another role inside its transaction: the owner to
tamper with the audit trail as an attacker with the owner's rights would, the
maintenance role for a partition drop.

Processes the suite starts (web servers, Celery workers in subprocesses) log in
as the application role itself (`login_url()`).

Without a superuser the suite runs as the configured user, as before; tests that
need the roles are skipped.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from accounts.dbroles import APP, MAINTENANCE, OWNER, create_roles

TEST_LOGIN = "secretariat_test"

_state: dict[str, str | None] = {"role": None, "superuser": None}


def enabled() -> bool:
    return _state["role"] is not None


def prepare(settings_dict: dict) -> None:
    """Create the roles as the configured superuser, then log in as the test login."""
    if "postgresql" not in settings_dict["ENGINE"]:
        return
    import psycopg

    params = {
        "dbname": "postgres",
        "user": settings_dict.get("USER") or None,
        "password": settings_dict.get("PASSWORD") or None,
        "host": settings_dict.get("HOST") or None,
        "port": settings_dict.get("PORT") or None,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            return
        # The roles are the cluster's: parallel test processes (pytest -n) would
        # race on them ("tuple concurrently updated"). Released with the session.
        cursor.execute("SELECT pg_advisory_lock(hashtext('secretariat test roles'))")
        create_roles(cursor)
        cursor.execute(
            f"DO $$ BEGIN CREATE ROLE {TEST_LOGIN} LOGIN NOINHERIT CREATEDB; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        for role in (OWNER, APP, MAINTENANCE):
            cursor.execute(f"GRANT {role} TO {TEST_LOGIN}")
    _state["superuser"] = settings_dict.get("USER") or ""
    settings_dict["USER"] = TEST_LOGIN
    settings_dict["PASSWORD"] = ""
    _state["role"] = OWNER


@contextmanager
def as_superuser(connection) -> Iterator[None]:
    """The connection logs in again as the superuser that prepared the roles
    (for the tests of role management itself); outside any transaction."""
    settings_dict = connection.settings_dict
    connection.close()
    settings_dict["USER"], previous_role = _state["superuser"], _state["role"]
    _state["role"] = None
    try:
        yield
    finally:
        connection.close()
        settings_dict["USER"], _state["role"] = TEST_LOGIN, previous_role


def set_session_role(role: str) -> None:
    """The role new connections take (existing ones are closed by the caller)."""
    if enabled():
        _state["role"] = role


def on_connection(connection) -> None:
    """connection_created: take the session's role."""
    if enabled():
        with connection.cursor() as cursor:
            cursor.execute(f"SET ROLE {_state['role']}")


@contextmanager
def as_role(role: str, connection=None) -> Iterator[None]:
    """Act as `role` on the connection for the block (no-op without the roles)."""
    if not enabled():
        yield
        return
    if connection is None:
        from django.db import connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        previous = cursor.fetchone()[0]
        cursor.execute(f"SET ROLE {role}")
    try:
        yield
    finally:
        # After an error the transaction's rollback puts the role back itself.
        if not _transaction_failed(connection):
            with connection.cursor() as cursor:
                cursor.execute(f"SET ROLE {previous}")


def _transaction_failed(connection) -> bool:
    from psycopg.pq import TransactionStatus

    raw = connection.connection
    return raw is not None and raw.info.transaction_status == TransactionStatus.INERROR


def login_url(settings_dict: dict, role: str = APP) -> str:
    """A DATABASE_URL logging in as `role` itself (processes started by tests)."""
    user = role if enabled() else settings_dict.get("USER") or ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    auth = f"{user}@" if user else ""
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"
