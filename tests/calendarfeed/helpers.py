"""A practitioner with appointments on both sides of DST changes, and a feed."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from itertools import cycle

from icalendar import Calendar

from accounts.roles import Role
from accounts.scoping import practice_scope
from appointments.models import Appointment
from calendarfeed import services
from tests.appointments.helpers import PARIS, appointment, appointment_type
from tests.factories import UserFactory, as_actor, grant
from tests.patients.helpers import make_patient


def window() -> tuple[datetime, datetime]:
    """The feed's window as the practice sees it today: 30 local days back to
    180 ahead, whole days."""
    today = datetime.now(PARIS).date()
    return (
        datetime.combine(today - timedelta(days=30), time.min, tzinfo=PARIS),
        datetime.combine(today + timedelta(days=181), time.min, tzinfo=PARIS),
    )


def dst_changes(start: datetime, end: datetime) -> list[datetime]:
    """Every hour where Paris' offset changes, scanned hour by hour (a window
    of 211 days always holds one at least)."""
    changes = []
    moment = start.astimezone(UTC).replace(minute=0)
    while moment < end:
        after = moment + timedelta(hours=1)
        if moment.astimezone(PARIS).utcoffset() != after.astimezone(PARIS).utcoffset():
            changes.append(after)
        moment = after
    return changes


@dataclass
class FeedWorld:
    secret: str
    feed: object
    inside: list[Appointment]
    outside: list[Appointment]
    changes: list[datetime]


def _starts(start: datetime, end: datetime, changes: list[datetime]) -> list[datetime]:
    """The first and last slots of the window and, around each DST change, the
    day before, the day itself and the day after."""
    starts = [start.replace(hour=9), end - timedelta(minutes=30)]
    for change in changes:
        day = change.astimezone(PARIS).date()
        for offset, hour in ((-1, 9), (0, 14), (1, 9)):
            starts.append(datetime.combine(day + timedelta(days=offset), time(hour), tzinfo=PARIS))
    return sorted(set(starts))


def feed_world(world, show_initials: bool = False) -> FeedWorld:
    dr = world.users["practitioner_a"]
    practice = world.practice_a
    start, end = window()
    changes = dst_changes(start, end)
    starts = _starts(start, end, changes)
    colleague = grant(UserFactory(username="dr_a2"), Role.PRACTITIONER, practice)
    with practice_scope(practice):
        kind = appointment_type(practice, minutes=30, name="Consultation")
        surgery = appointment_type(practice, minutes=45, name="Petite chirurgie")
        patient = make_patient(practice, phone="06 99 88 77 66")
        inside = [
            appointment(
                practice, dr, k, s, s + timedelta(minutes=k.duration_minutes), patient=patient
            )
            for s, k in zip(starts, cycle([kind, surgery]), strict=False)
        ]
        cancelled = appointment(
            practice,
            dr,
            kind,
            start + timedelta(days=40, hours=10),
            start + timedelta(days=40, hours=10, minutes=30),
            status=Appointment.Status.CANCELLED,
            patient=patient,
        )
        inside.append(cancelled)
        outside = [
            appointment(practice, dr, kind, start - timedelta(hours=1), start),
            appointment(practice, dr, kind, end, end + timedelta(minutes=30)),
            # Another practitioner of the same practice.
            appointment(
                practice,
                colleague,
                kind,
                start + timedelta(days=35, hours=9),
                start + timedelta(days=35, hours=10),
            ),
        ]
    # The same practitioner also works for practice B: not in practice A's feed.
    grant(dr, Role.PRACTITIONER, world.practice_b)
    with practice_scope(world.practice_b):
        kind_b = appointment_type(world.practice_b, name="Consultation B")
        outside.append(
            appointment(
                world.practice_b,
                dr,
                kind_b,
                start + timedelta(days=36, hours=8),
                start + timedelta(days=36, hours=8, minutes=30),
            )
        )
    with practice_scope(practice):
        feed, secret = services.feed_create(
            practice=practice,
            practitioner=dr,
            show_initials=show_initials,
            actor=as_actor(dr, "practitioner", practice),
        )
    return FeedWorld(secret=secret, feed=feed, inside=inside, outside=outside, changes=changes)


def feed_url(secret: str) -> str:
    return f"/calendrier/{secret}.ics"


def parse(response) -> Calendar:
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)
