"""What a feed fetch reads: the feed named by its secret, its window, a cheap
fingerprint of its content (for ETag revalidation) and the appointments."""

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, QuerySet
from django_scopes import scopes_disabled

from accounts.models import Practice
from appointments.models import Appointment, AppointmentType
from appointments.selectors import day_bounds, practice_zone, practitioner_in_practice
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
    return _feeds().filter(practice_id=practice_id, secret_digest=digest).first()


def _feeds() -> QuerySet[CalendarFeed]:
    return CalendarFeed.objects.select_related("practice", "practitioner")


def feed_live(feed: CalendarFeed) -> bool:
    """Not revoked, the practice active, the practitioner still practising there."""
    return (
        feed.revoked_at is None
        and feed.practice.status == Practice.Status.ACTIVE
        and practitioner_in_practice(feed.practice, feed.practitioner_id) is not None
    )


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
    shows (two small queries), and the number of appointments."""
    aggregates = {"count": Count("pk"), "changed": Max("updated_at")}
    if feed.show_initials:
        aggregates["patients"] = Max("patient__updated_at")
    state = _appointments(feed, start, end).aggregate(**aggregates)
    types = AppointmentType.objects.filter(practice=feed.practice).order_by("pk")
    practice = feed.practice
    parts = [
        "v1",
        feed.pk,
        feed.show_initials,
        start.isoformat(),
        end.isoformat(),
        state["count"],
        state["changed"],
        state.get("patients"),
        practice.name,
        practice.timezone,
        *types.values_list("pk", "name"),
    ]
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return f'"{digest}"', state["count"]


def feed_appointments(feed: CalendarFeed, start: datetime, end: datetime) -> list[Appointment]:
    """The window's appointments with their type (and patient for initials)
    and the number of history events (the iCalendar SEQUENCE); one query."""
    related = ["appointment_type", "patient"] if feed.show_initials else ["appointment_type"]
    return list(
        _appointments(feed, start, end)
        .select_related(*related)
        .annotate(history=Count("events"))
        .order_by("start", "pk")
    )
