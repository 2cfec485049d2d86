"""The phone system's webhook and the console it opens (issue 14 item 1)."""

import json
import time
from datetime import date, timedelta

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.scoping import practice_scope
from audit.models import AuditEvent
from console import cti
from console.models import Call
from patients.models import Patient
from tests.appointments.helpers import booking_world
from tests.console.helpers import SECRET, phone_line, post_event, ring
from tests.patients.helpers import make_patient

CALLER = "06 12 34 56 78"  # booking_world's patient


@pytest.fixture(autouse=True)
def _cti(settings):
    settings.CTI_WEBHOOK_SECRET = SECRET
    caches[settings.RATELIMIT_CACHE].clear()


@pytest.fixture
def line(world):
    booking_world(world)
    return phone_line(world.practice_a)


def _event(**overrides) -> dict:
    return {
        "event": "ringing",
        "call_id": "1700000000.42",
        "caller": CALLER,
        "called": "01 40 00 00 01",
        "agent": "tele_a",
    } | overrides


def _calls() -> list[Call]:
    return list(Call.objects.all())


def test_ringing_event_records_the_call_without_the_number_in_clear(world, line):
    response = post_event(Client(), _event())
    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": True}
    [call] = _calls()
    assert call.practice_id == world.practice_a.pk
    assert call.agent == world.users["telesecretary_a"]
    assert call.state == Call.State.RINGING
    with practice_scope(world.practice_a):
        assert call.read("caller") == "+33612345678"
        patient = Patient.objects.get(practice=world.practice_a)
    assert bytes(call.caller_bidx) == bytes(patient.phone_bidx)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM console_call")
        stored = repr(cursor.fetchall())
    assert "612345678" not in stored and "12 34 56 78" not in stored
    event = AuditEvent.objects.get(action="create", object_type="call")
    assert event.object_id == str(call.pk)
    assert "612345678" not in repr(event.detail)


def test_events_of_one_call_are_idempotent_and_only_move_forward(world, line):
    client = Client()
    post_event(client, _event(), timestamp=int(time.time()) - 2)
    post_event(client, _event(event="answered"))
    assert [call.state for call in _calls()] == ["answered"]
    post_event(client, _event(), timestamp=int(time.time()) - 1)
    assert [call.state for call in _calls()] == ["answered"]
    post_event(client, _event(event="ended"))
    [call] = _calls()
    assert call.state == "ended"
    assert call.started_at <= call.answered_at <= call.ended_at
    changed = AuditEvent.objects.filter(object_type="call").order_by("seq")
    assert [event.detail["changed"] for event in changed] == [True, True, False, True]


def test_forged_signature_is_refused_and_recorded(world, line):
    response = post_event(Client(), _event(), secret="not-the-secret")
    assert response.status_code == 401
    assert _calls() == []
    refusal = AuditEvent.objects.get(action="permission_denied", object_type="call")
    assert refusal.detail == {"reason": "signature", "status": 401}


def test_a_signature_over_another_body_is_refused(world, line):
    from console import cti

    stamp = str(int(time.time()))
    other = cti.sign(SECRET, stamp, b'{"event": "ended"}')
    response = post_event(Client(), _event(), timestamp=int(stamp), signature=other)
    assert response.status_code == 401
    assert _calls() == []


def test_stale_event_is_refused(world, line, settings):
    old = int(time.time()) - settings.CTI_REPLAY_WINDOW_SECONDS - 5
    response = post_event(Client(), _event(), timestamp=old)
    assert response.status_code == 401
    assert response.json() == {"error": "expired"}
    future = int(time.time()) + settings.CTI_REPLAY_WINDOW_SECONDS + 5
    assert post_event(Client(), _event(), timestamp=future).status_code == 401
    assert _calls() == []


@pytest.mark.parametrize("stamp", ["²", "١٧٦٤٤٩٥٠٠٠", "-5", "1e9", "", "9" * 400])
def test_a_timestamp_that_is_not_plain_digits_is_refused(world, line, stamp):
    body = json.dumps(_event()).encode()
    response = Client().post(
        reverse("console:cti_webhook"),
        data=body,
        content_type="application/json",
        headers={
            cti.TIMESTAMP_HEADER: stamp,
            cti.SIGNATURE_HEADER: cti.sign(SECRET, stamp, body),
        },
    )
    assert response.status_code == 401
    assert response.json() == {"error": "expired"}
    assert _calls() == []


def test_replayed_event_is_refused(world, line):
    stamp = int(time.time())
    assert post_event(Client(), _event(), timestamp=stamp).status_code == 202
    replay = post_event(Client(), _event(), timestamp=stamp)
    assert replay.status_code == 409
    assert replay.json() == {"error": "replayed"}
    assert len(_calls()) == 1


def test_unknown_line_is_404(world, line):
    response = post_event(Client(), _event(called="01 49 99 99 99"))
    assert response.status_code == 404
    assert _calls() == []


def test_bad_body_is_400(world, line):
    for event in (
        _event(event="transferred"),
        _event(call_id=""),
        {"event": ["ringing"]},
        _event(call_id="a\u0000b"),
        _event(agent="tele_a\u0000"),
        _event(caller="06\n12"),
    ):
        assert post_event(Client(), event).status_code == 400
    assert _calls() == []


def test_agent_of_another_practice_is_not_given_the_call(world, line):
    post_event(Client(), _event(agent="dr_b"))
    [call] = _calls()
    assert call.agent is None


def test_an_agent_who_may_not_book_there_is_not_given_the_call(world, line):
    # A manager of the practice (no booking), an account deactivated, a role ended.
    world.users["practitioner_a"].is_active = False
    world.users["practitioner_a"].save()
    ended = world.users["telesecretary_ab"].memberships.get(practice=world.practice_a)
    ended.ends_on = date.today() - timedelta(days=1)
    ended.save()
    for number, agent in enumerate(("manager_a", "dr_a", "tele_ab", "nobody")):
        assert post_event(Client(), _event(call_id=f"c{number}", agent=agent)).status_code == 202
    assert [call.agent for call in _calls()] == [None] * 4


def test_the_agent_is_set_once(world, line):
    post_event(Client(), _event(agent=""))
    post_event(Client(), _event(event="answered", agent="tele_a"))
    post_event(Client(), _event(event="ended", agent="tele_ab"))
    [call] = _calls()
    assert call.agent == world.users["telesecretary_a"]
    assert call.state == Call.State.ENDED


def test_without_a_secret_the_webhook_is_off(world, line, settings):
    settings.CTI_WEBHOOK_SECRET = ""
    assert post_event(Client(), _event(), secret="").status_code == 503
    assert _calls() == []


def test_webhook_is_rate_limited(world, line, settings):
    settings.CTI_RATE = "2/m"
    codes = [post_event(Client(), _event(call_id=f"c{i}")).status_code for i in range(4)]
    assert codes == [202, 202, 429, 429]
    assert AuditEvent.objects.filter(action="permission_denied", object_type="call").count() == 1


def test_the_agents_console_is_sent_to_the_ringing_call(world, line):
    call = ring(line, CALLER, agent="tele_a")
    client = world.client("telesecretary_a")
    polled = client.get(reverse("console:ringing"), HTTP_HX_REQUEST="true")
    url = reverse("console:call", args=[world.practice_a.slug, call.pk])
    assert polled.status_code == 204
    assert polled["HX-Redirect"] == url
    again = client.get(reverse("console:ringing"), {"actuel": str(call.pk)})
    assert again.status_code == 204 and "HX-Redirect" not in again
    other = world.client("telesecretary_ab").get(reverse("console:ringing"))
    assert "HX-Redirect" not in other


def test_the_call_page_opens_the_single_caller_into_booking(world, line):
    call = ring(line, CALLER, agent="tele_a")
    page = world.client("telesecretary_a").get(
        reverse("console:call", args=[world.practice_a.slug, call.pk])
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert "data-booking" in text and 'data-slot-key="1"' in text
    assert "data-call" in text
    search = AuditEvent.objects.filter(action="search").order_by("-id").first()
    assert search.detail["for"] == "call"


def test_the_call_page_of_an_unknown_number_opens_the_new_caller_form(world, line):
    call = ring(line, "07 00 00 00 01", agent="tele_a")
    page = world.client("telesecretary_a").get(
        reverse("console:call", args=[world.practice_a.slug, call.pk])
    )
    assert "data-new-caller" in page.content.decode()
    assert "07 00 00 00 01" in page.content.decode()


def test_another_practices_call_is_404(world, line):
    other_line = phone_line(world.practice_b, "+33140000002")
    make_patient(world.practice_b)
    call = ring(other_line, CALLER, agent="tele_ab")
    response = world.client("telesecretary_ab").get(
        reverse("console:call", args=[world.practice_a.slug, call.pk])
    )
    assert response.status_code == 404
