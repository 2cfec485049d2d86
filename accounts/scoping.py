"""The one notion of "current practice", for the application and the database.

`practice_scope(practice)` enters django-scopes' scope (the tripwire: a query on
a tenant model outside a scope raises) and, on PostgreSQL, sets the setting
`secretariat.practice_id` for the current transaction only (set_config(..., true),
i.e. SET LOCAL), which the row-level security policies read (accounts/rls.py).
So the scope opens a transaction when none is open: outside one, a
transaction-local setting would vanish with the statement that set it (Django
runs in autocommit). A session-level SET is never used: behind a transaction-mode
pooler (PgBouncer) the next transaction may run on a server connection another
client used, and would inherit it.

- Nested in an atomic block (a service's, or another scope): no savepoint of its
  own; the setting holds for the rest of the transaction (savepoints keep it) and
  leaving the scope, normally or by an exception, puts back the outer practice.
  After a database error the transaction is unusable until it is rolled back
  to a savepoint taken before the scope, which restores the setting too.
- Re-entering the practice already in force costs nothing.
- Celery tasks and management commands enter the scope themselves (ids in, scope
  entered, service called); each scope is then its own transaction.

django-scopes treats a scope of None as "all practices"; ours refuses it. Work
across practices goes practice by practice, each under its own scope; records
the provider keeps about practices are readable outside any practice's
transaction (accounts/tenancy.py); backups read everything under the maintenance
database role, which the web tier does not hold (docs/tenancy.md).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection, transaction
from django_scopes import scope
from psycopg.pq import TransactionStatus

from accounts.models import Practice

PRACTICE_SETTING = "secretariat.practice_id"

_current_practice: ContextVar[int | None] = ContextVar("current_practice", default=None)


def current_practice_id() -> int | None:
    """The practice whose scope is in force in this thread, or None."""
    return _current_practice.get()


@contextmanager
def practice_scope(practice: Practice | int) -> Iterator[None]:
    if practice is None or getattr(practice, "pk", practice) is None:
        raise ValueError("practice_scope() needs a practice; None would disable the scope.")
    practice_id = int(getattr(practice, "pk", practice))
    if _current_practice.get() == practice_id and connection.in_atomic_block:
        with scope(practice=practice):
            yield
    elif connection.in_atomic_block:
        with scope(practice=practice), _transaction_setting(practice_id, nested=True):
            yield
    else:
        with transaction.atomic(), scope(practice=practice), _transaction_setting(practice_id):
            yield


@contextmanager
def _transaction_setting(practice_id: int, nested: bool = False) -> Iterator[None]:
    previous = _set_local(str(practice_id))
    token = _current_practice.set(practice_id)
    try:
        yield
    finally:
        _current_practice.reset(token)
        # The outermost scope's transaction ends here: nothing to put back.
        if nested and not connection.needs_rollback and not _transaction_failed():
            _set_local(previous)


def _transaction_failed() -> bool:
    if connection.vendor != "postgresql" or connection.connection is None:
        return False

    return connection.connection.info.transaction_status == TransactionStatus.INERROR


def _set_local(value: str) -> str:
    """Set the practice for the rest of the transaction; return the previous one."""
    if connection.vendor != "postgresql":
        return ""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting(%s, true), set_config(%s, %s, true)",
            [PRACTICE_SETTING, PRACTICE_SETTING, value],
        )
        return cursor.fetchone()[0] or ""
