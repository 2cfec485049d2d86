"""The patients app's records stay in their practice's scope (the tripwire over
every tenant model of every app is tests/tenancy/test_scopes.py)."""

import pytest

from accounts.scoping import practice_scope
from tests.patients.helpers import make_patient


@pytest.mark.django_db
def test_scope_shows_only_its_practice(world):
    from patients.models import Patient

    make_patient(world.practice_a)
    make_patient(world.practice_b)
    with practice_scope(world.practice_a):
        assert {p.practice_id for p in Patient.objects.all()} == {world.practice_a.pk}
