"""The feed as RFC 5545 text, built with `icalendar`.

Minimal content: time, duration, type of appointment, practice; the patient's
initials only when the practitioner asked for them. Never the reason for
visit, a note or a phone number. Times are written in the practice's zone with
its VTIMEZONE (covering the window), so that calendar apps show local times
correctly on both sides of a DST change.
"""

import hashlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard

from appointments.models import Appointment
from appointments.selectors import practice_zone
from calendarfeed import selectors
from calendarfeed.models import CalendarFeed

PRODID = "-//Secretariat//Agenda du praticien//FR"
UID_DOMAIN = "secretariat"


def initials(appointment: Appointment) -> str:
    """ "J. D." from the patient's first given name and last name (two sealed
    fields, decrypted for this only)."""
    patient = appointment.patient
    first = patient.read("first_names").strip()[:1]
    last = patient.read("last_name").strip()[:1]
    return " ".join(f"{letter.upper()}." for letter in (first, last) if letter)


def _summary(feed: CalendarFeed, appointment: Appointment) -> str:
    summary = appointment.appointment_type.name
    if feed.show_initials:
        summary = f"{summary} · {initials(appointment)}"
    if appointment.status == Appointment.Status.CANCELLED:
        summary = _("Annulé : %(summary)s") % {"summary": summary}
    return summary


def _event(feed: CalendarFeed, appointment: Appointment, zone) -> Event:
    event = Event()
    event.add("uid", f"{appointment.pk}@{UID_DOMAIN}")
    event.add("dtstamp", appointment.updated_at.astimezone(UTC))
    event.add("last-modified", appointment.updated_at.astimezone(UTC))
    event.add("created", appointment.created_at.astimezone(UTC))
    # Each change of the appointment is an AppointmentEvent after the first.
    event.add("sequence", max(appointment.history - 1, 0))
    event.add("dtstart", appointment.start.astimezone(zone))
    event.add("dtend", appointment.end.astimezone(zone))
    event.add("summary", _summary(feed, appointment))
    event.add("location", feed.practice.name)
    cancelled = appointment.status == Appointment.Status.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    event.add("class", "PRIVATE")
    return event


def _transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The UTC instants in [start, end) where the zone's offset changes: a day
    at a time, then halving to the second."""
    found = []
    moment = start.astimezone(UTC)
    while moment < end:
        following = min(moment + timedelta(days=1), end)
        if moment.astimezone(zone).utcoffset() != following.astimezone(zone).utcoffset():
            low, high = moment, following
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high.replace(microsecond=0))
        moment = following
    return found


def _observance(
    zone: ZoneInfo, onset: datetime, before: timedelta
) -> TimezoneStandard | TimezoneDaylight:
    local = onset.astimezone(zone)
    kind = TimezoneDaylight if local.dst() else TimezoneStandard
    observance = kind()
    # RFC 5545 3.6.5: the onset as a local time in the offset in force before it.
    observance.add("dtstart", (onset.astimezone(UTC) + before).replace(tzinfo=None))
    observance.add("tzoffsetfrom", before)
    observance.add("tzoffsetto", local.utcoffset())
    observance.add("tzname", local.tzname())
    return observance


def vtimezone(zone: ZoneInfo, start: datetime, end: datetime) -> Timezone:
    """The zone's VTIMEZONE over [start, end): its offset at the start, then
    each change. Written here because icalendar's `Timezone.from_tzinfo` gives
    the spring change's DTSTART in the new offset (an hour late, read back by
    any RFC 5545 reader, icalendar's own included)."""
    component = Timezone()
    component.add("tzid", zone.key)
    first = start.astimezone(zone)
    component.add_component(_observance(zone, start, first.utcoffset()))
    for onset in _transitions(zone, start, end):
        before = (onset - timedelta(seconds=1)).astimezone(zone).utcoffset()
        component.add_component(_observance(zone, onset, before))
    return component


def render(
    feed: CalendarFeed, appointments: list[Appointment], start: datetime, end: datetime
) -> bytes:
    """The whole feed. The calendar's own lines and its VTIMEZONE come from
    icalendar; the events are each icalendar's own text, spliced in where
    icalendar puts subcomponents (after the VTIMEZONE), so that an event
    already rendered can be taken from the cache (`_events`)."""
    zone = practice_zone(feed.practice)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{feed.practice.name} · Secretariat")
    calendar.add("x-wr-timezone", zone.key)
    # The zone's rules over the window only (a VTIMEZONE since 1970 would be
    # most of the body), there even when the window is empty.
    calendar.add_component(vtimezone(zone, start, end))
    text = calendar.to_ical()
    if not text.endswith(CALENDAR_END):
        raise ValueError("icalendar ended the calendar unexpectedly")
    return text[: -len(CALENDAR_END)] + b"".join(_events(feed, appointments, zone)) + CALENDAR_END


CALENDAR_END = b"END:VCALENDAR\r\n"

# A rendered feed kept under its ETag, which digests everything the body shows
# (calendarfeed.selectors.feed_fingerprint): the same ETag, the same bytes; and
# each rendered event under a digest of what it shows, so that a change to one
# appointment renders one event again, not the window's 200 (icalendar takes
# about half a millisecond an event). The events are kept a day: most of a
# window outlives many changes. Only feeds without the patients' initials:
# text with patient data is never stored.
BODY_CACHE_SECONDS = 3600
EVENT_CACHE_SECONDS = 24 * 3600


def _event_key(feed: CalendarFeed, appointment: Appointment, zone) -> str:
    shown = (
        appointment.pk,
        appointment.updated_at.isoformat(),
        appointment.created_at.isoformat(),
        appointment.history,
        appointment.status,
        appointment.start.isoformat(),
        appointment.end.isoformat(),
        appointment.appointment_type.name,
        feed.practice.name,
        zone.key,
        get_language(),
    )
    return "calendarfeed:event:" + hashlib.sha256(repr(shown).encode()).hexdigest()[:40]


def _events(feed: CalendarFeed, appointments: list[Appointment], zone) -> list[bytes]:
    if feed.show_initials:
        return [_event(feed, appointment, zone).to_ical() for appointment in appointments]
    keys = [_event_key(feed, appointment, zone) for appointment in appointments]
    kept = cache.get_many(keys)
    rendered = {}
    for key, appointment in zip(keys, appointments, strict=True):
        if key not in kept:
            rendered[key] = _event(feed, appointment, zone).to_ical()
    if rendered:
        cache.set_many(rendered, EVENT_CACHE_SECONDS)
    return [kept.get(key) or rendered[key] for key in keys]


def _body_key(feed: CalendarFeed, etag: str) -> str:
    return f"calendarfeed:body:{feed.pk}:{etag.strip(chr(34))}"


def feed_body(feed: CalendarFeed, start: datetime, end: datetime, etag: str) -> bytes:
    """The feed's iCalendar text for this ETag: rendered only when its content
    changed since the last fetch."""
    cacheable = not feed.show_initials
    if cacheable and (body := cache.get(_body_key(feed, etag))) is not None:
        return body
    body = render(feed, selectors.feed_appointments(feed, start, end), start, end)
    if cacheable:
        cache.set(_body_key(feed, etag), body, BODY_CACHE_SECONDS)
    return body
