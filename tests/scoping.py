"""Reading tenant rows from a test the way the application does: inside their
practice's scope (row security shows nothing outside one, _base_manager included)."""

from collections.abc import Iterator
from contextlib import contextmanager

from django_scopes import scopes_disabled

from accounts.dbroles import OWNER
from accounts.scoping import practice_scope
from tests.dbroles import as_role


def refresh(row):
    """row.refresh_from_db(), inside the row's practice scope; returns the row."""
    with practice_scope(row.practice_id):
        row.refresh_from_db()
    return row


@contextmanager
def every_practice() -> Iterator[None]:
    """For a test's own assertions across practices: django-scopes off and the
    owner's role, which row security does not filter. Application code is never
    run like this."""
    with as_role(OWNER), scopes_disabled():
        yield
