"""Tampering with the audit table the way an attacker with the owner's (or a
superuser's) rights could: triggers off, change the rows, triggers back on. The
chain heads are guarded too (audit/migrations/0012): their triggers go off with
the others. The application role the suite runs as can do none of it
(tests/tenancy/test_roles.py)."""

from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO

from django.core.management import CommandError, call_command
from django.db import connection

from accounts.dbroles import OWNER
from audit.models import AuditChain
from audit.services import record_event
from tests.dbroles import as_role
from tests.factories import as_actor


@contextmanager
def triggers_disabled(*tables: str) -> Iterator[None]:
    tables = (*(tables or ("audit_auditevent",)), "audit_auditchain")
    with as_role(OWNER), connection.cursor() as cursor:
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


def head_reset(chain: AuditChain, seq: int, event_hash: str) -> None:
    """Point a chain head anywhere, as only a superuser (triggers off) can."""
    with triggers_disabled():
        raw(
            "UPDATE audit_auditchain SET last_seq = %s, last_hash = %s WHERE id = %s",
            [seq, event_hash, chain.pk],
        )


def audit_verify(*args: str) -> tuple[str, int]:
    """Run `manage.py audit_verify`; its output and exit status."""
    out = StringIO()
    try:
        call_command("audit_verify", *args, stdout=out)
    except CommandError as error:
        return out.getvalue(), error.returncode
    return out.getvalue(), 0


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
