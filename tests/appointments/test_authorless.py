"""Issue 12 defect 3: rows with no author (demo data, tasks, deleted accounts)
never break a page; the author is named "système ou compte supprimé"."""

import pytest
from django.urls import reverse

from accounts.scoping import practice_scope
from appointments.models import AppointmentEvent
from appointments.services.call_messages import call_message_leave
from audit.context import Actor
from tests.appointments.helpers import booked, booking_world
from tests.factories import UserFactory, as_actor, grant
from tests.scoping import every_practice

pytestmark = pytest.mark.django_db

NOBODY = "système ou compte supprimé"


def _detail(world, appointment):
    url = reverse("appointments:detail", args=[world.practice_a.slug, appointment.pk])
    return world.client("telesecretary_a").get(url)


def test_detail_of_an_appointment_a_task_booked(world):
    appointment = booked(world, actor=Actor.system("waiting_list_offer"))
    with practice_scope(world.practice_a):
        assert appointment.events.get().by is None
    response = _detail(world, appointment)
    assert response.status_code == 200
    assert NOBODY in response.content.decode()


def test_detail_of_seeded_history_names_the_status_in_french(world):
    appointment = booked(world)
    with practice_scope(world.practice_a):
        AppointmentEvent.objects.create(
            practice=world.practice_a,
            appointment=appointment,
            kind=AppointmentEvent.Kind.STATUS,
            by=None,
            detail={"before": "booked", "after": "no_show"},
        )
    body = _detail(world, appointment).content.decode()
    assert "Absent (non excusé)" in body
    assert "no_show" not in body
    assert NOBODY in body


def test_pages_after_the_author_account_was_deleted(world):
    setup = booking_world(world)
    author = grant(UserFactory(username="tele_gone"), "telesecretary", world.practice_a)
    appointment = booked(world, actor=as_actor(author, "telesecretary", world.practice_a))
    with practice_scope(world.practice_a):
        call_message_leave(
            actor=as_actor(author, "telesecretary", world.practice_a),
            practice=world.practice_a,
            practitioner=setup.practitioner,
            text="Rappeler le patient",
            patient=setup.patient,
        )
    with every_practice():
        author.delete()
    response = _detail(world, appointment)
    assert response.status_code == 200
    assert NOBODY in response.content.decode()
    inbox = world.client("practitioner_a").get(
        reverse("appointments:inbox", args=[world.practice_a.slug])
    )
    assert inbox.status_code == 200
    body = inbox.content.decode()
    assert "Rappeler le patient" in body and NOBODY in body
