"""What a feed fetch reads: the feed named by its secret, its window, a cheap
fingerprint of its content (for ETag revalidation) and the appointments."""

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, QuerySet
from django.utils.translation import get_language
from django_scopes import scopes_disabled

from accounts.models import Practice
from appointments.models import Appointment
from appointments.selectors import day_bounds, practice_zone, practitioner_memberships
from calendarfeed.models import CalendarFeed
from calendarfeed.services import secret_digest

SECRET_MAX_LENGTH = 100


def practice_of_secret(secret: str) -> int | None:
    """The practice of the feed whose address carries this secret (live or
    revoked), or None. The secret names the feed before any practice is known:
    on PostgreSQL row security hides every feed outside its practice's scope,
    so the practice comes from calendarfeed_practice_of() (migration 0002,
    SECURITY DEFINER, the practice id only)."""
    if not secret or len(secret) > SECRET_MAX_LENGTH:
        return None
    digest = secret_digest(secret)
    if connection.vendor != "postgresql":
        with scopes_disabled():
            feeds = CalendarFeed.objects.filter(secret_digest=digest)
            return feeds.values_list("practice_id", flat=True).first()
    with connection.cursor() as cursor:
        cursor.execute("SELECT calendarfeed_practice_of(%s)", [digest])
        return cursor.fetchone()[0]


def feed_for_secret(practice_id: int, secret: str) -> CalendarFeed | None:
    """The feed itself, read inside its practice's scope (one transaction with
    the rest of the fetch)."""
    digest = secret_digest(secret)
    try:
        # get(), not first(): the digest is unique, and no ORDER BY to build.
        return _feeds().get(practice_id=practice_id, secret_digest=digest)
    except CalendarFeed.DoesNotExist:
        return None


def _feeds() -> QuerySet[CalendarFeed]:
    return CalendarFeed.objects.select_related("practice", "practitioner")


def feed_live(feed: CalendarFeed) -> bool:
    """Not revoked, the practice active, the practitioner still practising there."""
    if feed.revoked_at is not None or feed.practice.status != Practice.Status.ACTIVE:
        return False
    # A query of its own: folded into the feed's as an Exists() it cost more to
    # compile (about 4 ms, measured by bench.feed) than a round trip.
    practising = practitioner_memberships().filter(
        practice_id=feed.practice_id, user_id=feed.practitioner_id
    )
    return practising.exists()


def live_feed(practice: Practice, practitioner) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(
        practice=practice, practitioner=practitioner, revoked_at__isnull=True
    ).first()


def feed_window(practice: Practice, now: datetime) -> tuple[datetime, datetime]:
    """Whole local days, CALENDAR_FEED_DAYS_BACK before today to
    CALENDAR_FEED_DAYS_AHEAD after: the same bounds all day long, so that the
    fingerprint (and the ETag) only changes when the content does."""
    today = now.astimezone(practice_zone(practice)).date()
    start, _end = day_bounds(practice, today - timedelta(days=settings.CALENDAR_FEED_DAYS_BACK))
    end, _end = day_bounds(practice, today + timedelta(days=settings.CALENDAR_FEED_DAYS_AHEAD + 1))
    return start, end


def _appointments(feed: CalendarFeed, start: datetime, end: datetime) -> QuerySet[Appointment]:
    # Cancelled ones included: the feed marks them cancelled.
    return Appointment.objects.filter(
        practice=feed.practice, practitioner=feed.practitioner, start__gte=start, start__lt=end
    )


def feed_fingerprint(feed: CalendarFeed, start: datetime, end: datetime) -> tuple[str, int]:
    """A digest of everything the feed shows, without reading the rows it
    shows (one query, a row per appointment type in the window), and the
    number of appointments."""
    aggregates = {"count": Count("pk"), "changed": Max("updated_at")}
    if feed.show_initials:
        aggregates["patients"] = Max("patient__updated_at")
    per_type = list(
        _appointments(feed, start, end)
        .values_list("appointment_type_id", "appointment_type__name")
        .annotate(**aggregates)
        .order_by("appointment_type_id")
    )
    practice = feed.practice
    parts = [
        "v2",
        feed.pk,
        feed.show_initials,
        start.isoformat(),
        end.isoformat(),
        practice.name,
        practice.timezone,
        # "Annulé : …" is written in the request's language.
        get_language(),
        *per_type,
    ]
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return f'"{digest}"', sum(row[2] for row in per_type)


# What an event shows (calendarfeed.ical): the rest of the row is never read.
EVENT_FIELDS = ("start", "end", "status", "created_at", "updated_at", "appointment_type__name")


def feed_appointments(feed: CalendarFeed, start: datetime, end: datetime) -> list[Appointment]:
    """The window's appointments with their type (and patient for initials)
    and the number of history events (the iCalendar SEQUENCE); one query."""
    appointments = _appointments(feed, start, end)
    if feed.show_initials:
        appointments = appointments.select_related("appointment_type", "patient").only(
            *EVENT_FIELDS, "patient"
        )
    else:
        appointments = appointments.select_related("appointment_type").only(*EVENT_FIELDS)
    return list(appointments.annotate(history=Count("events")).order_by("start", "pk"))
