"""Call messages: left by a telesecretary, read and handled by their practitioner."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.scoping import practice_scope
from appointments.models import CallMessage
from appointments.services.call_messages import call_message_leave
from audit.models import AuditEvent
from tests.appointments.helpers import booking_world
from tests.factories import UserFactory, as_actor, grant
from tests.patients.helpers import make_patient
from tests.scoping import refresh


@pytest.fixture
def setup(world):
    return booking_world(world)


def _url(name: str, world, **kwargs) -> str:
    return reverse(f"appointments:{name}", kwargs={"practice": world.practice_a.slug, **kwargs})


def _leave(world, setup, text="Rappeler pour les résultats de prise de sang", practitioner=None):
    with practice_scope(world.practice_a):
        return call_message_leave(
            actor=as_actor(world.users["telesecretary_a"]),
            practice=world.practice_a,
            practitioner=practitioner or setup.practitioner,
            text=text,
            patient=setup.patient,
        )


def test_message_left_by_telesecretary_reaches_the_practitioner_sealed(world, setup):
    tele = world.client("telesecretary_a")
    form = tele.get(_url("message_new", world), {"patient": str(setup.patient.pk)})
    assert form.status_code == 200
    assert "LEFÈVRE" in form.content.decode()
    response = tele.post(
        _url("message_new", world),
        {
            "practitioner": setup.practitioner.pk,
            "text": "Résultats de prise de sang inquiets",
            "urgent": "on",
            "patient": str(setup.patient.pk),
        },
    )
    assert response.status_code == 302
    with practice_scope(world.practice_a):
        message = CallMessage.objects.get(practice=world.practice_a)
    assert message.urgent and message.patient_id == setup.patient.pk
    assert b"sang" not in bytes(message.text_sealed)
    assert not any(
        "sang" in str(detail) for detail in AuditEvent.objects.values_list("detail", flat=True)
    )
    inbox = world.client("practitioner_a").get(_url("inbox", world))
    assert inbox.status_code == 200
    assert "no-store" in inbox["Cache-Control"]
    assert "Résultats de prise de sang inquiets" in inbox.content.decode()


def test_message_for_another_practitioner_stays_private(world, setup):
    dr_c = grant(UserFactory(username="dr_c"), "practitioner", world.practice_a)
    theirs = _leave(world, setup, text="Pour le docteur C", practitioner=dr_c)
    client = world.client("practitioner_a")
    assert "Pour le docteur C" not in client.get(_url("inbox", world)).content.decode()
    assert client.post(_url("message_handle", world, message=theirs.pk)).status_code == 404
    refresh(theirs)
    assert theirs.handled_at is None


def test_message_handle_marks_once(world, setup):
    message = _leave(world, setup)
    client = world.client("practitioner_a")
    url = _url("message_handle", world, message=message.pk)
    assert client.post(url).status_code == 302
    refresh(message)
    first = message.handled_at
    assert first is not None and message.handled_by == setup.practitioner
    assert client.post(url).status_code == 302
    refresh(message)
    assert message.handled_at == first
    assert client.get(url).status_code == 405


def test_message_refuses_foreign_patient_and_practitioner(world, setup):
    tele = world.client("telesecretary_ab")
    foreign_patient = make_patient(world.practice_b)
    assert (
        tele.get(_url("message_new", world), {"patient": str(foreign_patient.pk)}).status_code
        == 404
    )
    assert tele.get(_url("message_new", world), {"patient": "not-a-uuid"}).status_code == 404
    response = tele.post(
        _url("message_new", world),
        {"practitioner": world.users["practitioner_b"].pk, "text": "Bonjour"},
    )
    assert response.status_code == 400
    assert (
        tele.post(
            _url("message_new", world), {"practitioner": setup.practitioner.pk, "text": ""}
        ).status_code
        == 400
    )
    with practice_scope(world.practice_a):
        assert not CallMessage.objects.filter(practice=world.practice_a).exists()


def test_inbox_query_count_does_not_grow(world, setup, django_assert_num_queries):
    client = world.client("practitioner_a")
    for index in range(2):
        _leave(world, setup, text=f"Message {index}")
    client.get(_url("inbox", world))
    with CaptureQueriesContext(connection) as two:
        client.get(_url("inbox", world))
    for index in range(2, 20):
        _leave(world, setup, text=f"Message {index}")
    with django_assert_num_queries(len(two.captured_queries)):
        page = client.get(_url("inbox", world)).content.decode()
    assert page.count("Message ") == 20
