"""The console poll's fast path (console/ring.py): "nothing new rings for you"
answered before the session and the database, everything else by the full view.
Real Redis (CONSOLE_POLL_REDIS_URL, the test broker's database) and PostgreSQL."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.sessions import SESSION_STARTED
from console import ring
from tests.appointments.helpers import booking_world
from tests.console.helpers import phone_line
from tests.console.helpers import ring as ring_call

CALLER = "06 12 34 56 78"  # booking_world's patient
POLL = "console:ringing"


@pytest.fixture
def line(world):
    booking_world(world)
    return phone_line(world.practice_a)


def _poll(client: Client, held: str | None = None, **params):
    headers = {"HX-Request": "true"}
    if held is not None:
        headers[ring.HEADER] = held
    return client.get(reverse(POLL), params, headers=headers)


def _ring(line, django_capture_on_commit_callbacks, call_id: str = "c-1", execute: bool = True):
    # The service runs in the test's transaction: its after-commit work is run
    # here, as the commit would (or not at all: a marker lost).
    with django_capture_on_commit_callbacks(execute=execute):
        return ring_call(line, CALLER, agent="tele_a", call_id=call_id)


def test_nothing_new_is_answered_without_the_database(world, line, django_assert_num_queries):
    client = world.client("telesecretary_a")
    full = _poll(client)
    assert full.status_code == 204 and "HX-Redirect" not in full
    held = full[ring.HEADER]
    assert held == ring.NONE
    with django_assert_num_queries(0):
        fast = _poll(client, held)
    assert fast.status_code == 204
    assert ring.HEADER not in fast and "HX-Redirect" not in fast
    assert "no-store" in fast["Cache-Control"]


def test_a_ring_makes_the_next_poll_go_through_and_hand_the_call_over(
    world, line, django_capture_on_commit_callbacks
):
    client = world.client("telesecretary_a")
    held = _poll(client)[ring.HEADER]
    call = _ring(line, django_capture_on_commit_callbacks)
    polled = _poll(client, held)
    assert polled["HX-Redirect"] == reverse("console:call", args=[world.practice_a.slug, call.pk])
    # On the call's page: nothing new again, on the new marker.
    moved = _poll(client, held, actuel=str(call.pk))
    assert "HX-Redirect" not in moved and moved[ring.HEADER] not in ("", held)
    assert _poll(client, moved[ring.HEADER], actuel=str(call.pk)).get(ring.HEADER) is None


def test_the_marker_moves_after_the_commit_only(world, line, django_capture_on_commit_callbacks):
    before = ring.marker(world.users["telesecretary_a"].pk)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ring_call(line, CALLER, agent="tele_a")
        assert ring.marker(world.users["telesecretary_a"].pk) == before
    for callback in callbacks:
        callback()
    assert ring.marker(world.users["telesecretary_a"].pk) not in (before, "")


def test_a_ring_for_another_agent_leaves_the_fast_path_on(
    world, line, django_capture_on_commit_callbacks, django_assert_num_queries
):
    client = world.client("telesecretary_ab")
    held = _poll(client)[ring.HEADER]
    _ring(line, django_capture_on_commit_callbacks)
    with django_assert_num_queries(0):
        assert _poll(client, held).status_code == 204


def test_a_poll_without_a_lease_goes_through_the_full_view(world, line):
    granted = world.client("telesecretary_a")
    held = _poll(granted)[ring.HEADER]
    # Another user's session, another session of the same user, a forged cookie.
    for client in (world.client("telesecretary_ab"), world.client("telesecretary_a")):
        answer = _poll(client, held)
        assert answer.status_code == 204 and ring.HEADER in answer
    forged = Client()
    forged.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32
    answer = _poll(forged, held)
    assert answer.status_code == 302 and answer["Location"].startswith(reverse("accounts:login"))


def test_a_poll_holding_another_marker_goes_through_the_full_view(world, line):
    client = world.client("telesecretary_a")
    _poll(client)
    for held in ("f" * 16, "", "0" * 17):
        assert ring.HEADER in _poll(client, held)


def test_an_anonymous_poll_is_sent_to_the_login(world, line):
    answer = _poll(Client(), ring.NONE)
    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("accounts:login"))


def test_logout_ends_the_lease(world, line):
    client = world.client("telesecretary_a")
    held = _poll(client)[ring.HEADER]
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post(reverse("accounts:logout"))
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = cookie
    answer = _poll(replay, held)
    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("accounts:login"))


def test_the_lease_ends_with_the_session(world, line, _clean_redis):
    client = world.client("telesecretary_a")
    session = client.session
    # Three seconds left before the session's absolute lifetime.
    started = timezone.now() - settings.SESSION_ABSOLUTE_LIFETIME + timedelta(seconds=3)
    session[SESSION_STARTED] = started.isoformat()
    session.save()
    _poll(client)
    [key] = list(_clean_redis.scan_iter(ring.key_prefix() + "lease:*"))
    assert 0 < _clean_redis.ttl(key) <= 3


def test_a_lost_marker_is_caught_when_the_lease_runs_out(
    world, line, settings, django_capture_on_commit_callbacks
):
    settings.CONSOLE_POLL_LEASE_SECONDS = 1
    client = world.client("telesecretary_a")
    held = _poll(client)[ring.HEADER]
    call = _ring(line, django_capture_on_commit_callbacks, execute=False)
    # The marker never moved: the fast path still says nothing new...
    assert "HX-Redirect" not in _poll(client, held)
    time.sleep(1.2)
    # ...until the lease runs out and the full view finds the call.
    late = _poll(client, held)
    assert late["HX-Redirect"] == reverse("console:call", args=[world.practice_a.slug, call.pk])


def test_without_redis_every_poll_takes_the_full_view(world, line, settings):
    settings.CONSOLE_POLL_REDIS_URL = "redis://127.0.0.1:1/0"
    client = world.client("telesecretary_a")
    full = _poll(client)
    assert full.status_code == 204 and full[ring.HEADER] == ""
    again = _poll(client, ring.NONE)
    assert again.status_code == 204 and again[ring.HEADER] == ""
