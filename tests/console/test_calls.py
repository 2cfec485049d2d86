"""The call record (issue 14 item 5): every call's outcome kept per practice,
the practice's calls per day, the platform's volume per practice; no caller
and no patient in any of them."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from console.models import Call
from tests.appointments.helpers import booking_world
from tests.console.helpers import phone_line, ring

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def line(world):
    booking_world(world)
    return phone_line(world.practice_a)


def _end(client, world, **data):
    url = reverse("console:call_end", args=[world.practice_a.slug])
    return client.post(url, data, **HTMX)


def test_a_call_taken_by_hand_is_recorded_with_its_outcome(world, line):
    response = _end(world.client("telesecretary_a"), world, outcome="information")
    assert response.status_code == 200
    [call] = Call.objects.all()
    assert call.source == Call.Source.BY_HAND
    assert call.outcome == Call.Outcome.INFORMATION
    assert call.practice_id == world.practice_a.pk
    assert call.agent == world.users["telesecretary_a"]
    assert AuditEvent.objects.filter(action="create", object_type="call").exists()


def test_the_phone_systems_call_gets_the_outcome(world, line):
    call = ring(line, "06 12 34 56 78", "tele_a")
    _end(world.client("telesecretary_a"), world, outcome="message", appel=str(call.pk))
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.MESSAGE
    assert Call.objects.count() == 1


def test_another_practices_call_cannot_be_given_an_outcome(world, line):
    other = ring(phone_line(world.practice_b, "+33140000002"), "06 00 00 00 01", call_id="b")
    _end(world.client("telesecretary_ab"), world, outcome="message", appel=str(other.pk))
    other.refresh_from_db()
    assert other.outcome == ""
    # Recorded as a call of practice A taken by hand instead.
    assert Call.objects.filter(practice=world.practice_a, source="manual").count() == 1


def test_an_unknown_outcome_is_400_and_nothing_recorded(world, line):
    response = _end(world.client("telesecretary_a"), world, outcome="billed")
    assert response.status_code == 400
    assert not Call.objects.exists()


def test_a_booking_from_the_console_records_the_call_as_booked(world, line):
    from datetime import UTC

    from appointments.forms import slot_value
    from tests.appointments.helpers import at

    setup = booking_world(world)
    call = ring(line, "06 12 34 56 78", "tele_a")
    url = reverse(
        "console:book",
        kwargs={
            "practice": world.practice_a.slug,
            "patient": setup.patient.pk,
            "appointment_type": setup.kind.pk,
        },
    )
    slot = slot_value(setup.practitioner.pk, at(setup.monday, 9).astimezone(UTC))
    response = world.client("telesecretary_a").post(
        url, {"slot": slot, "appel": str(call.pk)}, **HTMX
    )
    assert response.status_code == 200
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.BOOKED


def test_the_practice_sees_its_calls_per_day_without_callers(world, line):
    ring(line, "06 12 34 56 78", "tele_a")
    _end(world.client("telesecretary_a"), world, outcome="information")
    page = world.client("manager_a").get(reverse("console:practice_calls", args=["cabinet-a"]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "<strong>2</strong>" in text
    assert "12 34 56 78" not in text and "Lefèvre" not in text.replace("Lefevre", "")


def test_the_platform_sees_the_volume_per_practice(world, line):
    ring(line, "06 12 34 56 78", "tele_a")
    ring(phone_line(world.practice_b, "+33140000002"), "06 00 00 00 01", call_id="b")
    _end(world.client("telesecretary_a"), world, outcome="no_patient")
    page = world.client("platform_admin").get(reverse("console:platform_calls"))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Cabinet A" in text and "Cabinet B" in text
    assert "<strong>2</strong>" in text and "<strong>1</strong>" in text
