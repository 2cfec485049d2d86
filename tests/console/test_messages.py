"""A message instead of a booking, and the practitioner's answer read on the
patient's next call (issue 14 item 4)."""

import pytest
from django.urls import reverse

from accounts.scoping import practice_scope
from appointments.models import CallMessage
from console.models import Call, MessageReply
from tests.appointments.helpers import booking_world
from tests.console.helpers import phone_line, ring

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def setup(world):
    return booking_world(world)


def _message_url(world, patient) -> str:
    return reverse("console:message", args=[world.practice_a.slug, patient.pk])


def _messages(world) -> list[CallMessage]:
    with practice_scope(world.practice_a):
        return list(CallMessage.objects.filter(practice=world.practice_a))


def _leave(world, setup, **data):
    values = {
        "practitioner": setup.practitioner.pk,
        "callback": "06 12 34 56 78",
        "text": "Demande ses résultats",
        "urgent": "on",
    } | data
    return world.client("telesecretary_a").post(_message_url(world, setup.patient), values, **HTMX)


def test_the_message_form_preselects_the_patient_and_the_callback_number(world, setup):
    page = world.client("telesecretary_a").get(_message_url(world, setup.patient), **HTMX)
    text = page.content.decode()
    assert page.status_code == 200
    assert "LEFÈVRE" in text and 'value="06 12 34 56 78"' in text


def test_a_message_is_left_with_the_callback_and_the_call_ends_as_message(world, setup):
    call = ring(phone_line(world.practice_a), "06 12 34 56 78", "tele_a")
    response = _leave(world, setup, appel=str(call.pk))
    assert response.status_code == 200
    assert "data-message-left" in response.content.decode()
    [message] = _messages(world)
    with practice_scope(world.practice_a):
        text = message.read("text")
    assert text.startswith("Rappeler au 06 12 34 56 78\n") and "résultats" in text
    assert message.urgent and message.patient_id == setup.patient.pk
    assert message.practitioner == setup.practitioner
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.MESSAGE


def test_a_bad_callback_number_is_400_and_nothing_left(world, setup):
    response = _leave(world, setup, callback="rappeler demain")
    assert response.status_code == 400
    assert "Numéro de téléphone invalide." in response.content.decode()
    assert _messages(world) == [] and not Call.objects.exists()


def test_a_practitioner_of_another_practice_cannot_be_named(world, setup):
    response = _leave(world, setup, practitioner=world.users["practitioner_b"].pk)
    assert response.status_code == 400
    assert _messages(world) == []


def test_the_practitioners_reply_is_read_on_the_patients_next_call(world, setup):
    _leave(world, setup)
    [message] = _messages(world)
    doctor = world.client("practitioner_a")
    url = reverse("console:reply", args=[world.practice_a.slug, message.pk])
    assert "Demande ses résultats" in doctor.get(url).content.decode()
    done = doctor.post(url, {"text": "Résultats normaux, pas de nouveau rendez-vous."})
    assert done.status_code == 302
    with practice_scope(world.practice_a):
        [reply] = MessageReply.objects.filter(practice=world.practice_a)
        message.refresh_from_db()
    assert reply.patient_id == setup.patient.pk and message.handled_at is not None
    panel = world.client("telesecretary_a").post(
        reverse("console:search", args=[world.practice_a.slug]), {"q": "06 12 34 56 78"}, **HTMX
    )
    assert "Résultats normaux, pas de nouveau rendez-vous." in panel.content.decode()


def test_another_practitioners_message_cannot_be_answered(world, setup):
    _leave(world, setup)
    [message] = _messages(world)
    other = world.client("practitioner_b")
    url = reverse("console:reply", args=[world.practice_b.slug, message.pk])
    assert other.get(url).status_code == 404
    assert other.post(url, {"text": "Intrusion"}).status_code == 404
    assert not MessageReply.objects.exists()
