"""Time windows bounded on both sides (issue 18 item 4): an appointment lasts at
most a day, so the agenda and slot queries bound `start` from below too, and the
index reads the window instead of every earlier appointment."""

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.scoping import practice_scope
from appointments import selectors
from appointments.models import MAX_APPOINTMENT_LENGTH
from appointments.slots import slot_is_busy
from tests.appointments.helpers import appointment, appointment_type, paris, schedule

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the guard is a PostgreSQL constraint"
)


@pytest.fixture
def scoped(world):
    with practice_scope(world.practice_a):
        yield world


def _overnight(world):
    """An appointment from 23:30 to 00:30: it starts the day before the window
    of its second half."""
    dr = world.users["practitioner_a"]
    schedule(world.practice_a, dr)
    kind = appointment_type(world.practice_a, minutes=60)
    return appointment(
        world.practice_a, dr, kind, paris(2027, 1, 4, 23, 30), paris(2027, 1, 5, 0, 30)
    )


def test_agenda_shows_an_appointment_begun_the_day_before(scoped):
    late = _overnight(scoped)
    start, end = selectors.day_bounds(scoped.practice_a, paris(2027, 1, 5, 0, 0).date())
    assert [row.pk for row in selectors.agenda(scoped.practice_a, start=start, end=end)] == [
        late.pk
    ]


def test_slot_is_busy_under_an_appointment_begun_the_day_before(scoped):
    _overnight(scoped)
    assert slot_is_busy(
        practice=scoped.practice_a,
        practitioner=scoped.users["practitioner_a"],
        start=paris(2027, 1, 5, 0, 0),
        end=paris(2027, 1, 5, 0, 15),
    )


@postgresql_only
def test_appointment_longer_than_a_day_is_refused_by_the_database(scoped):
    dr = scoped.users["practitioner_a"]
    kind = appointment_type(scoped.practice_a)
    start = paris(2027, 1, 4, 9, 0)
    with pytest.raises(IntegrityError, match="appointment_at_most_a_day"), transaction.atomic():
        appointment(scoped.practice_a, dr, kind, start, start + MAX_APPOINTMENT_LENGTH * 2)


@postgresql_only
def test_agenda_index_reads_the_window_only(scoped):
    start, end = selectors.day_bounds(scoped.practice_a, paris(2027, 1, 5, 0, 0).date())
    query = selectors.agenda(scoped.practice_a, start=start, end=end)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = query.explain()
    index_conditions = [line for line in plan.splitlines() if "Index Cond" in line]
    assert any("start >" in line and "start <" in line for line in index_conditions), plan
