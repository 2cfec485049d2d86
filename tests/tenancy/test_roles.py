"""Least-privilege roles (accounts/dbroles.py): the application role owns
nothing, cannot bypass row security, cannot TRUNCATE anything, cannot change or
delete the audit trail, cannot create or drop tables. Each refusal is tried."""

from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from accounts import rls
from accounts.dbroles import APP, MAINTENANCE, OWNER
from accounts.scoping import practice_scope
from tests.dbroles import as_role, as_superuser, login_url
from tests.patients.helpers import make_patient

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("database_roles")]


def _one(sql: str, params=()) -> object:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _refused(sql: str, match: str = "permission denied") -> None:
    refused = pytest.raises(DatabaseError, match=match)
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


def _tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
        )
        return [name for (name,) in cursor.fetchall()]


def test_suite_runs_as_the_application_role():
    assert _one("SELECT current_user") == APP
    assert (
        _one(
            "SELECT rolsuper OR rolbypassrls OR rolcreatedb OR rolcreaterole"
            " FROM pg_roles WHERE rolname = %s",
            [APP],
        )
        is False
    )


def test_application_role_owns_nothing():
    assert _one("SELECT count(*) FROM pg_class WHERE relowner = to_regrole(%s)", [APP]) == 0
    assert _one("SELECT count(*) FROM pg_proc WHERE proowner = to_regrole(%s)", [APP]) == 0
    assert (
        _one("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
        == OWNER
    )


def test_application_role_holds_no_truncate_anywhere():
    tables = _tables()
    assert len(tables) > 50
    truncatable = [
        t for t in tables if _one("SELECT has_table_privilege(%s, %s, 'TRUNCATE')", [APP, t])
    ]
    assert truncatable == []
    _refused("TRUNCATE patients_patient")


@pytest.mark.parametrize(
    "sql",
    [
        "TRUNCATE audit_auditevent",
        "DELETE FROM audit_auditevent",
        "UPDATE audit_auditevent SET object_id = 'x'",
        "TRUNCATE audit_auditdigest",
        "DELETE FROM audit_auditdigest",
        "UPDATE audit_auditdigest SET seq = seq + 1",
        "DELETE FROM audit_auditchain",
        "SELECT 1 FROM audit_auditevent_default",
    ],
)
def test_application_role_cannot_change_the_audit_trail(sql):
    _refused(sql)


@pytest.mark.parametrize(
    ("sql", "match"),
    [
        ("ALTER TABLE patients_patient DISABLE ROW LEVEL SECURITY", "must be owner"),
        ("ALTER TABLE audit_auditevent DISABLE TRIGGER USER", "must be owner"),
        ("DROP POLICY practice_data ON patients_patient", "must be owner"),
        ("CREATE TABLE leak (id int)", "permission denied for schema public"),
        ("DROP TABLE audit_auditevent_default", "must be owner"),
        ("ALTER TABLE audit_auditevent DETACH PARTITION audit_auditevent_default", "must be owner"),
        ("SELECT audit_drop_partition('audit_auditevent_2001_01')", "permission denied"),
    ],
)
def test_application_role_cannot_take_the_walls_down(sql, match):
    _refused(sql, match)


def test_application_role_cannot_switch_row_security_off(world):
    make_patient(world.practice_a)
    with practice_scope(world.practice_a):
        _refused(
            "SET LOCAL row_security = off; SELECT count(*) FROM patients_patient",
            "row-level security",
        )


def test_maintenance_role_reads_every_practice_and_may_drop_partitions(world):
    make_patient(world.practice_a)
    make_patient(world.practice_b)
    assert _one("SELECT count(*) FROM patients_patient") == 0
    with as_role(MAINTENANCE):
        assert _one("SELECT count(DISTINCT practice_id) FROM patients_patient") == 2
        assert _one("SELECT has_function_privilege('audit_drop_partition(text)', 'EXECUTE')")
        _refused("TRUNCATE patients_patient")


def test_application_role_logs_in_in_its_own_right():
    """Production connects as the application role itself, not through SET ROLE."""
    url = login_url(connection.settings_dict, APP)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT session_user, current_user").fetchone() == (APP, APP)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SET ROLE " + OWNER)


@pytest.mark.django_db(transaction=True)
def test_db_roles_command_is_idempotent_and_keeps_existing_roles():
    """Run by a superuser (make test's user): the roles exist already, nothing
    about them changes, the database stays the owner's."""

    def attributes():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT rolname, rolsuper, rolbypassrls, rolcreatedb, rolcanlogin,"
                " rolpassword IS NULL FROM pg_authid WHERE rolname LIKE 'secretariat_%%'"
                " ORDER BY rolname"
            )
            return cursor.fetchall()

    out = StringIO()
    with as_superuser(connection):
        before = attributes()
        call_command("db_roles", "--own-database", stdout=out)
        call_command("db_roles", stdout=out)
        assert attributes() == before
        owner = _one(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        )
    assert owner == OWNER
    assert out.getvalue().count("existant") == 6


def test_row_security_helpers_enable_and_disable_a_table():
    with as_role(OWNER), connection.cursor() as cursor:
        cursor.execute("CREATE TABLE rls_probe (id int, practice_id bigint)")
        cursor.execute(rls.enable("rls_probe", "practice", ("SELECT", "INSERT")))
        assert _one("SELECT count(*) FROM pg_policies WHERE tablename = 'rls_probe'") == 2
        assert _one("SELECT relrowsecurity FROM pg_class WHERE relname = 'rls_probe'")
        cursor.execute(rls.disable("rls_probe"))
        assert _one("SELECT count(*) FROM pg_policies WHERE tablename = 'rls_probe'") == 0
        assert not _one("SELECT relrowsecurity FROM pg_class WHERE relname = 'rls_probe'")
