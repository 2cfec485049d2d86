"""The database itself refuses to change or empty the audit table: the triggers,
which hold even for the owner of the table (the application role, which the
suite runs as, does not even hold the privileges: tests/tenancy/test_roles.py).
These tests act as the owner, so that the triggers are what refuses."""

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.dbroles import MAINTENANCE, OWNER
from audit import digests
from audit.models import AuditDigest, AuditEvent
from audit.services import record_event
from tests.audit.helpers import raw
from tests.dbroles import as_role
from tests.factories import PracticeFactory, as_actor


@pytest.fixture(autouse=True)
def _as_owner(db):
    with as_role(OWNER):
        yield


@pytest.fixture
def event(db) -> AuditEvent:
    practice = PracticeFactory()
    appended = record_event(
        actor=as_actor(), action="view", practice=practice, object_type="patient", object_id=7
    )
    return AuditEvent.objects.get(pk=appended.id)


def test_raw_update_is_refused(event):
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"), transaction.atomic():
        raw("UPDATE audit_auditevent SET object_id = '8' WHERE id = %s", [event.pk])
    event.refresh_from_db()
    assert event.object_id == "7"


def test_orm_update_is_refused(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="list")


def test_raw_delete_is_refused(event):
    with pytest.raises(DatabaseError, match="append-only: DELETE refused"), transaction.atomic():
        raw("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_orm_delete_is_refused(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.all().delete()


def test_truncate_is_refused_without_the_maintenance_flag(event):
    with pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"), transaction.atomic():
        raw("SET LOCAL secretariat.audit_maintenance = 'off'")
        raw("TRUNCATE audit_auditevent")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_truncate_is_refused_to_a_role_that_is_not_the_owner_even_with_the_flag(
    event, database_roles
):
    # The flag alone is not enough: the trigger also wants the owner (or a
    # superuser). The maintenance role, granted TRUNCATE here for the test, is not.
    with pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"), transaction.atomic():
        raw(f"GRANT TRUNCATE ON audit_auditevent TO {MAINTENANCE}")
        raw(f"SET LOCAL ROLE {MAINTENANCE}")
        raw("SET LOCAL secretariat.audit_maintenance = 'on'")
        raw("TRUNCATE audit_auditevent")
    # The grant was made inside the rolled-back savepoint: nothing remains.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT has_table_privilege(%s, 'audit_auditevent', 'TRUNCATE')", [MAINTENANCE]
        )
        assert cursor.fetchone()[0] is False
    assert AuditEvent.objects.filter(pk=event.pk).exists()


# --- The signed digests (migration 0010) ------------------------------------------


@pytest.fixture
def digest(event) -> AuditDigest:
    digest, _finding = digests.digest_write(chain=event.chain)
    return digest


def test_digest_raw_update_is_refused(digest):
    with (
        pytest.raises(DatabaseError, match="audit_auditdigest is append-only: UPDATE refused"),
        transaction.atomic(),
    ):
        raw("UPDATE audit_auditdigest SET seq = seq + 1 WHERE id = %s", [digest.pk])
    digest.refresh_from_db()
    assert digest.seq == digest.chain.last_seq


def test_digest_raw_delete_is_refused(digest):
    with (
        pytest.raises(DatabaseError, match="audit_auditdigest is append-only: DELETE refused"),
        transaction.atomic(),
    ):
        raw("DELETE FROM audit_auditdigest WHERE id = %s", [digest.pk])
    assert AuditDigest.objects.filter(pk=digest.pk).exists()


def test_digest_orm_delete_is_refused(digest):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditDigest.objects.all().delete()
    assert AuditDigest.objects.filter(pk=digest.pk).exists()


def test_digest_truncate_is_refused_without_the_maintenance_flag(digest):
    with (
        pytest.raises(DatabaseError, match="audit_auditdigest is append-only: TRUNCATE refused"),
        transaction.atomic(),
    ):
        raw("SET LOCAL secretariat.audit_maintenance = 'off'")
        # The digest's deferred foreign-key check would refuse the TRUNCATE
        # before the trigger runs: run it now.
        raw("SET CONSTRAINTS ALL IMMEDIATE")
        raw("TRUNCATE audit_auditdigest")
    assert AuditDigest.objects.filter(pk=digest.pk).exists()


def test_digest_insert_is_still_allowed(digest):
    # Digests are only ever inserted: a new head gets a new row.
    record_event(
        actor=as_actor(),
        action="view",
        practice=digest.chain.practice,
        object_type="patient",
        object_id=8,
    )
    newer, _finding = digests.digest_write(chain=digest.chain)
    assert newer.seq == digest.seq + 1
