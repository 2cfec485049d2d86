"""Free slots of a practice's practitioners.

Working hours are wall-clock times in the practice's time zone. Each day's
ranges are built as aware datetimes for that very day (so 09:00 is 09:00 on a
day of 23 or 25 hours), then everything is compared and stepped in UTC, which
counts real elapsed minutes (Python's arithmetic on two aware datetimes of the
same zone is wall-clock arithmetic, wrong across a DST change).

Busy intervals (non-cancelled appointments, absences) are fetched for a bounded
window at a time (WINDOW_DAYS), extended window after window until enough
slots are found or the horizon is reached: never a year of rows at once.
"""

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django_scopes import scopes_disabled

from accounts.models import Practice, User
from appointments.models import (
    Absence,
    Appointment,
    AppointmentType,
    PractitionerSettings,
    WorkingHours,
    overlapping,
)
from appointments.selectors import practice_zone, practitioners
from secretariat import inputs

WINDOW_DAYS = 14
HORIZON_DAYS = 182
DEFAULT_SLOT_MINUTES = PractitionerSettings._meta.get_field("slot_minutes").default


@dataclass(frozen=True)
class Slot:
    practitioner_id: int
    start: datetime
    end: datetime


Range = tuple[datetime, datetime]


def find_free_slots(
    *,
    practice: Practice,
    appointment_type: AppointmentType,
    practitioner: User | None = None,
    start_from: datetime | None = None,
    count: int = 5,
    exclude_appointment_id=None,
    window_days: int = WINDOW_DAYS,
    horizon_days: int = HORIZON_DAYS,
    among: Iterable[User] | None = None,
) -> list[Slot]:
    """The `count` earliest free slots for the type, from `start_from` (now by
    default; callers showing proposals pass at least now), of one practitioner
    or of all the practice's practitioners (`among`: those the caller already
    read, as `practitioners(practice)` gives them), ordered by start time.
    Queries: 2 (1 with a practitioner or `among` given) + 1 per window examined."""
    if start_from is not None and not inputs.HISTORY.contains(start_from):
        return []  # nothing is proposed from a day out of range (no overflow below)
    zone = practice_zone(practice)
    start_from = (start_from or timezone.now()).astimezone(UTC)
    if practitioner is not None:
        ids = [practitioner.pk]
    elif among is not None:
        ids = [user.pk for user in among]
    else:
        ids = list(practitioners(practice).values_list("pk", flat=True))
    hours, steps = _schedules(practice, ids)
    ids = [pid for pid in ids if hours.get(pid)]
    if not ids or count <= 0:
        return []
    duration = timedelta(minutes=appointment_type.duration_minutes)

    found: list[Slot] = []
    day = start_from.astimezone(zone).date()
    last_day = day + timedelta(days=horizon_days)
    while day < last_day and len(found) < count:
        window_end = min(day + timedelta(days=window_days), last_day)
        busy = _busy(
            practice,
            ids,
            _local_midnight(day, zone),
            _local_midnight(window_end, zone),
            exclude_appointment_id,
        )
        window: list[Slot] = []
        for pid in ids:
            free = _free_slots(
                pid,
                _days(day, window_end),
                hours[pid],
                steps[pid],
                duration,
                busy[pid],
                start_from,
                zone,
            )
            # Each practitioner needs to offer at most `count` slots per window.
            window.extend(islice(free, count))
        window.sort(key=lambda slot: (slot.start, ids.index(slot.practitioner_id)))
        found.extend(window[: count - len(found)])
        day = window_end
    return found


def slot_on_grid(
    *, practice: Practice, appointment_type: AppointmentType, practitioner: User, start: datetime
) -> bool:
    """Whether find_free_slots could propose `start`, busy time aside: the whole
    appointment in one of the day's working ranges, starting a whole number of
    the practitioner's slot steps after the range's start (as _free_slots steps).
    A forged 08:07 on a 15-minute grid is not a slot."""
    zone = practice_zone(practice)
    start = start.astimezone(UTC)
    end = start + timedelta(minutes=appointment_type.duration_minutes)
    day = start.astimezone(zone).date()
    hours, steps = _schedules(practice, [practitioner.pk])
    hours, step = hours.get(practitioner.pk, {}), steps[practitioner.pk]
    return any(
        r_start <= start and end <= r_end and (start - r_start) % step == timedelta(0)
        for r_start, r_end in _ranges(day, hours, zone)
    )


def slot_is_busy(
    *,
    practice: Practice,
    practitioner: User,
    start: datetime,
    end: datetime,
    exclude_appointment_id=None,
) -> bool:
    """Whether an absence or another non-cancelled appointment overlaps."""
    busy = _busy(practice, [practitioner.pk], start, end, exclude_appointment_id)
    return bool(busy[practitioner.pk][0])


def slot_is_free(
    *,
    practice: Practice,
    appointment_type: AppointmentType,
    practitioner: User,
    start: datetime,
    exclude_appointment_id=None,
) -> bool:
    """Whether an appointment of this type may start at `start`: on the grid of
    one of the day's working ranges, overlapping no absence and no other
    non-cancelled appointment. (Refusing the past is the booking service's business.)"""
    if not slot_on_grid(
        practice=practice, appointment_type=appointment_type, practitioner=practitioner, start=start
    ):
        return False
    end = start + timedelta(minutes=appointment_type.duration_minutes)
    return not slot_is_busy(
        practice=practice,
        practitioner=practitioner,
        start=start,
        end=end,
        exclude_appointment_id=exclude_appointment_id,
    )


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def _days(first: date, end: date) -> Iterator[date]:
    day = first
    while day < end:
        yield day
        day += timedelta(days=1)


def _ranges(day: date, hours: dict[int, list], zone: ZoneInfo) -> Iterator[Range]:
    """The day's working ranges as UTC datetimes, built on that day's offset.
    A wall time skipped by the spring change (02:30) reads with the offset in
    force before it (fold=0), which lands on the same instant as 03:30."""
    for start_time, end_time in hours.get(day.weekday(), ()):
        start = datetime.combine(day, start_time, tzinfo=zone).astimezone(UTC)
        end = datetime.combine(day, end_time, tzinfo=zone).astimezone(UTC)
        if end > start:
            yield start, end


def _ceil_to_step(moment: datetime, origin: datetime, step: timedelta) -> datetime:
    if moment <= origin:
        return origin
    steps = -((origin - moment) // step)  # ceiling division
    return origin + steps * step


def _free_slots(
    practitioner_id: int,
    days: Iterable[date],
    hours: dict[int, list],
    step: timedelta,
    duration: timedelta,
    busy: tuple[list[datetime], list[datetime]],
    start_from: datetime,
    zone: ZoneInfo,
) -> Iterator[Slot]:
    starts, ends = busy
    for day in days:
        for range_start, range_end in _ranges(day, hours, zone):
            candidate = _ceil_to_step(start_from, range_start, step)
            while candidate + duration <= range_end:
                end = candidate + duration
                # Busy intervals are merged, so their ends increase too: the
                # first one ending after the candidate's start is the only one
                # that can overlap it first.
                index = bisect_right(ends, candidate)
                if index < len(starts) and starts[index] < end:
                    candidate = _ceil_to_step(ends[index], range_start, step)
                    continue
                yield Slot(practitioner_id, candidate, end)
                candidate += step


def _schedules(
    practice: Practice, ids: list[int]
) -> tuple[dict[int, dict[int, list]], dict[int, timedelta]]:
    """The practitioners' working hours ({id: {weekday: [(start, end)]}}) and
    slot steps ({id: step}, the default for those without settings), in one
    query: each hours row carries its practitioner's slot minutes."""
    hours: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    minutes: dict[int, int | None] = {}
    step = PractitionerSettings.objects.filter(
        practice=practice, practitioner=OuterRef("practitioner")
    ).values("slot_minutes")[:1]
    rows = (
        WorkingHours.objects.filter(practice=practice, practitioner_id__in=ids)
        .annotate(slot_minutes=Subquery(step))
        .order_by("weekday", "start_time")
        .values_list("practitioner_id", "weekday", "start_time", "end_time", "slot_minutes")
    )
    for pid, weekday, start_time, end_time, slot_minutes in rows:
        hours[pid][weekday].append((start_time, end_time))
        minutes[pid] = slot_minutes
    steps = {
        pid: timedelta(minutes=DEFAULT_SLOT_MINUTES if minutes.get(pid) is None else minutes[pid])
        for pid in ids
    }
    return hours, steps


def _busy(
    practice: Practice,
    ids: list[int],
    start: datetime,
    end: datetime,
    exclude_appointment_id=None,
) -> dict[int, tuple[list[datetime], list[datetime]]]:
    """Per practitioner, the merged busy intervals overlapping [start, end), as
    two sorted lists (starts, ends). Two queries whatever the window.

    A practitioner working for several practices is one person: their
    appointments and absences in every practice make them busy (bookings of
    one practitioner in two practices are serialised by the lock on their user
    row, services.base.lock_practitioner). Only
    (practitioner, start, end) leave this cross-practice read, so nothing of
    another practice's patients is disclosed. `practice` is kept in the
    signature as the caller's tenant; the ids come from its practitioners."""
    intervals: dict[int, list[Range]] = defaultdict(list)
    for pid, busy_start, busy_end in _busy_rows(ids, start, end, exclude_appointment_id):
        intervals[pid].append((busy_start, busy_end))
    merged: dict[int, tuple[list[datetime], list[datetime]]] = defaultdict(lambda: ([], []))
    for pid, spans in intervals.items():
        starts, ends = merged[pid]
        for busy_start, busy_end in sorted(spans):
            if ends and busy_start <= ends[-1]:
                ends[-1] = max(ends[-1], busy_end)
            else:
                starts.append(busy_start)
                ends.append(busy_end)
    return merged


def _busy_rows(ids: list[int], start: datetime, end: datetime, exclude_appointment_id) -> list:
    """(practitioner, start, end) of non-cancelled appointments and absences in
    every practice. On PostgreSQL row security hides the other practices' rows
    from the application role: the SECURITY DEFINER function of migration 0006
    is the one narrow way through, for the practitioners of the practice in scope."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT practitioner_id, busy_start, busy_end"
                " FROM appointments_busy_intervals(%s, %s, %s, %s)",
                [list(ids), start, end, exclude_appointment_id],
            )
            return cursor.fetchall()
    with scopes_disabled():
        appointments = (
            Appointment.objects.filter(overlapping(start, end), practitioner_id__in=ids)
            .exclude(status=Appointment.Status.CANCELLED)
            .values_list("practitioner_id", "start", "end")
        )
        if exclude_appointment_id is not None:
            appointments = appointments.exclude(pk=exclude_appointment_id)
        absences = Absence.objects.filter(
            practitioner_id__in=ids, start__lt=end, end__gt=start
        ).values_list("practitioner_id", "start", "end")
        return [*appointments, *absences]
