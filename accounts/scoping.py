"""Entering a practice's scope. django-scopes treats a scope of None as "all
practices"; ours refuses it, and a cross-practice job must say
`scopes_disabled()` by name."""

from collections.abc import Iterator
from contextlib import contextmanager

from django_scopes import scope

from accounts.models import Practice


@contextmanager
def practice_scope(practice: Practice | int) -> Iterator[None]:
    if practice is None or getattr(practice, "pk", practice) is None:
        raise ValueError("practice_scope() needs a practice; None would disable the scope.")
    with scope(practice=practice):
        yield
