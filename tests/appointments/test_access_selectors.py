"""appointments.selectors.access_appointment: fetched inside the practice and
recorded in one call."""

import pytest
from django.http import Http404

from accounts.scoping import practice_scope
from appointments.selectors import access_appointment
from audit.models import AuditEvent
from tests.appointments.helpers import booked, booking_world
from tests.factories import as_actor

pytestmark = pytest.mark.django_db


def test_access_appointment_records_the_view_in_the_appointments_practice(world):
    appointment = booked(world)
    actor = as_actor(world.users["telesecretary_a"], "telesecretary")
    with practice_scope(world.practice_a):
        found = access_appointment(
            actor=actor, practice=world.practice_a, appointment_id=appointment.pk
        )
    assert found == appointment
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.object_type, event.object_id) == (
        "view",
        "appointment",
        str(appointment.pk),
    )
    assert event.practice_id == world.practice_a.pk


def test_access_appointment_of_another_practice_is_a_404_and_records_nothing(world):
    foreign = booking_world(world).foreign
    before = AuditEvent.objects.count()
    with practice_scope(world.practice_a), pytest.raises(Http404):
        access_appointment(
            actor=as_actor(world.users["telesecretary_a"], "telesecretary"),
            practice=world.practice_a,
            appointment_id=foreign.pk,
        )
    assert AuditEvent.objects.count() == before
