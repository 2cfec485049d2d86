"""The encryption counter of a practice's key is no hot row (issue 18 item 2):
counted in the process, written after the caller's commit in a statement of its
own, so a booking never holds the key's row lock until its commit."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.scoping import practice_scope
from patients import keys
from patients.models import PracticeKey
from tests.appointments.helpers import booked, booking_world
from tests.patients.helpers import make_patient

pytestmark = pytest.mark.django_db


def _encryptions(practice) -> int:
    with practice_scope(practice):
        return sum(
            PracticeKey.objects.filter(practice=practice).values_list("encryptions", flat=True)
        )


@pytest.fixture(autouse=True)
def _nothing_pending():
    keys.flush_encryption_counts()
    yield
    keys.flush_encryption_counts()


def test_booking_does_not_write_the_key_row_in_its_transaction(world):
    booking_world(world)
    with CaptureQueriesContext(connection) as queries:
        booked(world)
    assert not [
        q
        for q in queries.captured_queries
        if "patients_practicekey" in q["sql"] and "UPDATE" in q["sql"]
    ]


def test_counts_reach_the_key_row_at_the_flush(world):
    make_patient(world.practice_a)
    before = _encryptions(world.practice_a)
    make_patient(world.practice_a, last_name="Autre", phone="0700000000")
    assert _encryptions(world.practice_a) == before
    assert keys.flush_encryption_counts() >= 9
    assert _encryptions(world.practice_a) >= before + 9


def test_due_count_is_written_after_the_commit(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    make_patient(world.practice_a)
    keys.flush_encryption_counts()
    before = _encryptions(world.practice_a)
    monkeypatch.setattr(keys, "COUNT_FLUSH_EVERY", 5)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        make_patient(world.practice_a, last_name="Autre", phone="0700000000")
    assert callbacks
    assert _encryptions(world.practice_a) >= before + 9
