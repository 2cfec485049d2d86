"""Tampering with the audit table the way an attacker with the superuser role
could: triggers off, change the rows, triggers back on."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from audit.models import AuditChain
from audit.services import record_event
from tests.factories import as_actor


@contextmanager
def triggers_disabled(*tables: str) -> Iterator[None]:
    tables = tables or ("audit_auditevent",)
    with connection.cursor() as cursor:
        # ALTER TABLE is refused while deferred foreign-key checks of rows
        # written in this transaction are pending (digests): run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in tables:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        try:
            yield
        finally:
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def raw(sql: str, params: list | tuple = ()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def fill_chain(practice, count: int) -> AuditChain:
    for number in range(count):
        record_event(
            actor=as_actor(),
            action="view",
            practice=practice,
            object_type="patient",
            object_id=1000 + number,
        )
    return AuditChain.objects.get(key=f"practice:{practice.pk}")
