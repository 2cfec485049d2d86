"""A committed write is never reported as a failure because the session could
not be saved at the end of the request (issue 12, defect 6).

The fault is real: a PostgreSQL trigger makes every UPDATE of the session table
fail, as a session ended from another tab or a database hiccup at that moment
does (Django turns both into `SessionInterrupted`, a 400)."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.dbroles import OWNER
from accounts.scoping import practice_scope
from accounts.sessions import SESSION_LAST_SEEN
from appointments.forms import slot_value
from appointments.models import Appointment
from tests.appointments.helpers import at, booking_world
from tests.dbroles import as_role

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the fault is a PostgreSQL trigger"
)


@contextmanager
def session_saves_fail() -> Iterator[None]:
    # The owner's to create (the application role creates nothing).
    with as_role(OWNER), connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_session_save_fails() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'session store unavailable'; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER test_session_save_fails BEFORE UPDATE ON django_session "
            "FOR EACH ROW EXECUTE FUNCTION test_session_save_fails()"
        )
    try:
        yield
    finally:
        with as_role(OWNER), connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER test_session_save_fails ON django_session")
            cursor.execute("DROP FUNCTION test_session_save_fails()")


def _idle_clock_minutes_ago(client, minutes: int) -> None:
    session = client.session
    session[SESSION_LAST_SEEN] = (timezone.now() - timedelta(minutes=minutes)).isoformat()
    session.save()


@pytest.mark.django_db(transaction=True)
def test_booking_committed_then_session_save_fails_answers_the_booking(world):
    setup = booking_world(world)
    client = world.client("telesecretary_a")
    # The idle clock is due to be written back, so the session must be saved.
    _idle_clock_minutes_ago(client, 5)
    url = reverse(
        "appointments:book_slot",
        kwargs={
            "practice": world.practice_a.slug,
            "patient": setup.patient.pk,
            "appointment_type": setup.kind.pk,
        },
    )
    slot = slot_value(setup.practitioner.pk, at(setup.monday, 9).astimezone(UTC))
    with session_saves_fail():
        response = client.post(url, {"slot": slot, "reason": "Vertiges depuis lundi"})
    with practice_scope(world.practice_a):
        [created] = Appointment.objects.filter(practice=world.practice_a)
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "appointments:detail",
        kwargs={"practice": world.practice_a.slug, "appointment": created.pk},
    )
    assert "Cookie" in response["Vary"]


@pytest.mark.django_db(transaction=True)
def test_session_unchanged_by_a_request_is_not_saved(world):
    client = world.client("telesecretary_a")
    home = reverse("accounts:home")
    _idle_clock_minutes_ago(client, 0)
    with CaptureQueriesContext(connection) as fresh:
        assert client.get(home).status_code == 200
    _idle_clock_minutes_ago(client, 2)
    with CaptureQueriesContext(connection) as due:
        assert client.get(home).status_code == 200
    saves = [
        [q["sql"] for q in queries if q["sql"].startswith('UPDATE "django_session"')]
        for queries in (fresh.captured_queries, due.captured_queries)
    ]
    assert [len(found) for found in saves] == [0, 1]
