"""The practitioner's calendar feed read by `icalendar`, as a calendar app
would: every event, its time zone and the DST changes in the window."""

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Membership
from accounts.scoping import practice_scope
from appointments.models import AppointmentType
from appointments.services.booking import appointment_cancel
from audit.models import AuditEvent
from calendarfeed import services
from calendarfeed.models import CalendarFeed
from tests.appointments import helpers as appointment_helpers
from tests.calendarfeed.helpers import feed_url, feed_world, parse, window
from tests.factories import as_actor

PARIS = ZoneInfo("Europe/Paris")
pytestmark = pytest.mark.django_db


def _events(calendar) -> dict[str, object]:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_feed_lists_every_appointment_of_the_window_in_local_time(world):
    setup = feed_world(world)
    calendar = parse(Client().get(feed_url(setup.secret)))
    events = _events(calendar)
    assert set(events) == {f"{a.pk}@secretariat" for a in setup.inside}
    for appointment in setup.inside:
        event = events[f"{appointment.pk}@secretariat"]
        start, end = event["DTSTART"], event["DTEND"]
        assert start.params["TZID"] == "Europe/Paris"
        assert start.dt == appointment.start and end.dt == appointment.end
        local = appointment.start.astimezone(PARIS)
        assert start.dt.utcoffset() == local.utcoffset()
        assert (start.dt.hour, start.dt.minute) == (local.hour, local.minute)
        assert end.dt - start.dt == timedelta(minutes=appointment.appointment_type.duration_minutes)
        assert str(event["LOCATION"]) == "Cabinet A"
        assert str(event["CLASS"]) == "PRIVATE"
        kind = appointment.appointment_type.name
        cancelled = appointment.status == "cancelled"
        assert str(event["SUMMARY"]) == (f"Annulé : {kind}" if cancelled else kind)
        assert str(event["STATUS"]) == ("CANCELLED" if cancelled else "CONFIRMED")


def test_feed_offsets_follow_the_dst_changes(world):
    setup = feed_world(world)
    assert setup.changes, "a window of 211 days holds a DST change"
    events = _events(parse(Client().get(feed_url(setup.secret))))
    offsets = set()
    for appointment in setup.inside:
        start = events[f"{appointment.pk}@secretariat"]["DTSTART"].dt
        assert start.utcoffset() == appointment.start.astimezone(PARIS).utcoffset()
        offsets.add(start.utcoffset())
    # Each change has appointments the day before and the day after.
    assert offsets == {timedelta(hours=1), timedelta(hours=2)}


def test_feed_vtimezone_has_the_window_transitions_and_offsets(world):
    setup = feed_world(world)
    calendar = parse(Client().get(feed_url(setup.secret)))
    [vtimezone] = calendar.walk("VTIMEZONE")
    assert vtimezone.tz_name == "Europe/Paris"
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/Paris"
    start, end = window()
    times, _info = vtimezone.get_transitions()
    inside = [t.replace(tzinfo=UTC) for t in times if t.replace(tzinfo=UTC) > start]
    assert inside == setup.changes
    # The zone rebuilt from the VTIMEZONE alone agrees with the tz database
    # every hour of the window.
    rebuilt = vtimezone.to_tz(lookup_tzid=False)
    moment = start.astimezone(UTC)
    while moment < end:
        assert moment.astimezone(rebuilt).utcoffset() == moment.astimezone(PARIS).utcoffset()
        moment += timedelta(hours=1)


def test_feed_carries_no_patient_data_by_default(world):
    setup = feed_world(world)
    body = Client().get(feed_url(setup.secret)).content.decode()
    for leak in ("Lefèvre", "LEFÈVRE", "Élodie", "É. L.", "06 99", "+33699", "Douleurs"):
        assert leak not in body, leak
    assert "Consultation B" not in body


def test_feed_shows_initials_on_opt_in_only(world):
    setup = feed_world(world, show_initials=True)
    response = Client().get(feed_url(setup.secret))
    summaries = {str(e["SUMMARY"]) for e in parse(response).walk("VEVENT")}
    assert "Consultation · É. L." in summaries
    assert "Annulé : Consultation · É. L." in summaries
    body = response.content.decode()
    for leak in ("Lefèvre", "Élodie", "06 99", "Douleurs"):
        assert leak not in body, leak
    assert response["Cache-Control"] == "no-store"


def test_feed_marks_cancelled_appointments(world):
    setup = feed_world(world)
    booked = setup.inside[1]
    with practice_scope(world.practice_a):
        appointment_cancel(
            appointment=booked,
            category="patient",
            actor=as_actor(world.users["telesecretary_a"], "telesecretary"),
        )
    events = _events(parse(Client().get(feed_url(setup.secret))))
    event = events[f"{booked.pk}@secretariat"]
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["TRANSP"]) == "TRANSPARENT"
    assert int(event["SEQUENCE"]) >= 0
    others = [e for uid, e in events.items() if uid != f"{booked.pk}@secretariat"]
    assert sum(str(e["STATUS"]) == "CANCELLED" for e in others) == 1


def test_feed_revalidates_with_its_etag(world):
    setup = feed_world(world)
    client = Client()
    first = client.get(feed_url(setup.secret))
    etag = first["ETag"]
    assert first["Cache-Control"] == "private, no-cache"
    again = client.get(feed_url(setup.secret), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag


def _change_content(world, setup, change: str) -> None:
    """One change of what practice A's feed shows, made as its practitioner."""
    actor = as_actor(world.users["practitioner_a"], "practitioner", world.practice_a)
    with practice_scope(world.practice_a):
        if change == "cancel":
            appointment_cancel(appointment=setup.inside[2], category="patient", actor=actor)
        elif change == "rename_type":
            AppointmentType.objects.filter(name="Petite chirurgie").update(name="Chirurgie")
        elif change == "initials":
            services.feed_set_initials(feed=setup.feed, show_initials=True, actor=actor)
        else:
            first = setup.inside[0]
            appointment_helpers.appointment(
                world.practice_a,
                first.practitioner,
                first.appointment_type,
                first.start + timedelta(days=3),
                first.end + timedelta(days=3),
            )


@pytest.mark.parametrize("change", ["cancel", "rename_type", "initials", "new_appointment"])
def test_feed_etag_changes_with_the_content(world, change):
    setup = feed_world(world)
    client = Client()
    etag = client.get(feed_url(setup.secret))["ETag"]
    _change_content(world, setup, change)
    response = client.get(feed_url(setup.secret), HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response["ETag"] != etag


def test_feed_fetch_is_audited_once_per_fetch_in_the_practice_chain(world):
    setup = feed_world(world)
    client = Client(HTTP_USER_AGENT="CalendarApp/1.0")
    before = AuditEvent.objects.count()
    etag = client.get(feed_url(setup.secret))["ETag"]
    client.get(feed_url(setup.secret), HTTP_IF_NONE_MATCH=etag)
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [(e.action, e.detail["status"]) for e in events] == [("list", 200), ("list", 304)]
    for event in events:
        assert event.practice_id == world.practice_a.pk
        assert event.chain.key == f"practice:{world.practice_a.pk}"
        assert event.actor_id == world.users["practitioner_a"].pk
        assert event.role == "calendar_feed"
        assert event.object_id == str(setup.feed.pk)
        assert event.user_agent == "CalendarApp/1.0"
        assert setup.secret not in str(event.detail)
    assert events[0].detail["count"] == len(setup.inside)


def test_feed_secret_is_stored_only_as_its_digest(world):
    setup = feed_world(world)
    with practice_scope(world.practice_a):
        row = CalendarFeed.objects.filter(pk=setup.feed.pk).values().get()
    assert setup.secret not in str(row)
    assert len(setup.secret) >= 43  # 256 bits, URL-safe base64


def test_revoked_feed_answers_404_and_is_recorded(world):
    setup = feed_world(world)
    with practice_scope(world.practice_a):
        services.feed_revoke(
            practice=world.practice_a,
            practitioner=world.users["practitioner_a"],
            actor=as_actor(world.users["practitioner_a"]),
        )
    response = Client().get(feed_url(setup.secret))
    assert response.status_code == 404
    assert b"VEVENT" not in response.content
    denied = AuditEvent.objects.filter(object_type="calendar_feed", outcome="denied")
    assert denied.count() == 1


def test_new_address_replaces_the_old_one(world):
    setup = feed_world(world)
    dr = world.users["practitioner_a"]
    with practice_scope(world.practice_a):
        _feed, secret = services.feed_create(
            practice=world.practice_a, practitioner=dr, show_initials=False, actor=as_actor(dr)
        )
    assert Client().get(feed_url(setup.secret)).status_code == 404
    assert Client().get(feed_url(secret)).status_code == 200


def test_feed_of_a_practitioner_who_left_answers_404(world):
    setup = feed_world(world)
    Membership.objects.filter(user=world.users["practitioner_a"], practice=world.practice_a).update(
        ends_on=timezone.localdate() - timedelta(days=1)
    )
    assert Client().get(feed_url(setup.secret)).status_code == 404


def test_feed_of_a_suspended_practice_answers_404(world):
    setup = feed_world(world)
    world.practice_a.status = "suspended"
    world.practice_a.save()
    assert Client().get(feed_url(setup.secret)).status_code == 404


@pytest.mark.parametrize("secret", ["x", "a" * 43, "a" * 200])
def test_unknown_address_answers_404(world, secret):
    feed_world(world)
    assert Client().get(feed_url(secret)).status_code == 404


def test_feed_is_rate_limited_per_address_and_audits_the_first_refusal(world, settings):
    settings.CALENDAR_FEED_RATE = "3/h"
    setup = feed_world(world)
    client = Client()
    statuses = [client.get(feed_url(setup.secret)).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    refused = client.get(feed_url(setup.secret))
    assert int(refused["Retry-After"]) > 0
    assert AuditEvent.objects.filter(object_type="calendar_feed", outcome="denied").count() == 1
    # Another address has its own counter.
    dr = world.users["practitioner_b"]
    with practice_scope(world.practice_b):
        _feed, other = services.feed_create(
            practice=world.practice_b, practitioner=dr, show_initials=False, actor=as_actor(dr)
        )
    assert client.get(feed_url(other)).status_code == 200


def test_feed_unchanged_is_served_again_without_reading_its_appointments(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    setup = feed_world(world)
    client = Client()
    with CaptureQueriesContext(connection) as first_queries:
        first = client.get(feed_url(setup.secret))
    with CaptureQueriesContext(connection) as again_queries:
        again = client.get(feed_url(setup.secret))
    assert again.status_code == 200
    assert again.content == first.content
    rows = 'SELECT "appointments_appointment"."id"'
    assert any(rows in query["sql"] for query in first_queries.captured_queries)
    assert not any(rows in query["sql"] for query in again_queries.captured_queries)
    fetches = AuditEvent.objects.filter(object_type="calendar_feed", action="list")
    assert [event.detail["count"] for event in fetches] == [len(setup.inside)] * 2


@pytest.mark.parametrize("change", ["cancel", "rename_type", "new_appointment"])
def test_feed_body_follows_the_content_after_a_full_fetch(world, change):
    setup = feed_world(world)
    client = Client()
    before = _events(parse(client.get(feed_url(setup.secret))))
    _change_content(world, setup, change)
    after = _events(parse(client.get(feed_url(setup.secret))))
    if change == "cancel":
        uid = f"{setup.inside[2].pk}@secretariat"
        assert str(before[uid]["STATUS"]) == "CONFIRMED"
        assert str(after[uid]["STATUS"]) == "CANCELLED"
    elif change == "rename_type":
        summaries = {str(event["SUMMARY"]) for event in after.values()}
        assert "Chirurgie" in summaries and "Petite chirurgie" not in summaries
    else:
        assert len(after) == len(before) + 1


def _event_keys(world, setup) -> list[str]:
    from calendarfeed import ical, selectors

    with practice_scope(world.practice_a):
        feed = CalendarFeed.objects.select_related("practice").get(pk=setup.feed.pk)
        start, end = selectors.feed_window(feed.practice, timezone.now())
        zone = ical.practice_zone(feed.practice)
        appointments = selectors.feed_appointments(feed, start, end)
        return [ical._event_key(feed, appointment, zone) for appointment in appointments]


@pytest.mark.parametrize("change", ["cancel", "rename_type", "new_appointment"])
def test_feed_body_from_kept_events_is_the_body_rendered_anew(world, change):
    from django.core.cache import cache

    setup = feed_world(world)
    client = Client()
    client.get(feed_url(setup.secret))
    assert None not in cache.get_many(_event_keys(world, setup)).values()
    _change_content(world, setup, change)
    from_kept_events = client.get(feed_url(setup.secret))
    cache.clear()
    rendered_anew = client.get(feed_url(setup.secret))
    assert from_kept_events["ETag"] == rendered_anew["ETag"]
    assert from_kept_events.content == rendered_anew.content


def test_feed_in_english_is_not_served_the_french_body(world):
    setup = feed_world(world)
    client = Client()
    french = client.get(feed_url(setup.secret), HTTP_ACCEPT_LANGUAGE="fr")
    english = client.get(feed_url(setup.secret), HTTP_ACCEPT_LANGUAGE="en")
    assert b"SUMMARY:Annul\xc3\xa9 : " in french.content
    assert b"SUMMARY:Cancelled: " in english.content
    assert french["ETag"] != english["ETag"]


def test_feed_with_initials_is_never_kept_rendered(world):
    from django.core.cache import cache

    from calendarfeed import ical

    setup = feed_world(world)
    actor = as_actor(world.users["practitioner_a"], "practitioner", world.practice_a)
    with practice_scope(world.practice_a):
        services.feed_set_initials(feed=setup.feed, show_initials=True, actor=actor)
    response = Client().get(feed_url(setup.secret))
    assert response.status_code == 200
    assert cache.get(ical._body_key(setup.feed, response["ETag"])) is None
    assert cache.get_many(_event_keys(world, setup)) == {}
    assert response["Cache-Control"] == "no-store"
