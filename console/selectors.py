"""What the call console reads: the practices a user answers for, the header
of a practice (how to answer, its instructions, today's practitioners), and
what a booking starts from (the type, the usual practitioner). Every query
filters on the practice explicitly."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from accounts.models import Membership, Practice, User
from accounts.roles import ROLE_PERMISSIONS
from accounts.selectors import PracticeAccess, user_practices
from appointments import rules
from appointments import selectors as appointment_selectors
from appointments.models import Absence, Appointment, AppointmentType, WorkingHours
from audit.context import Actor
from console.models import Call, MessageReply, PhoneLine
from patients import normalise

USUAL_PRACTITIONER_WINDOW = 10


def console_practices(user: User) -> list[PracticeAccess]:
    """The active practices where the user may book: the ones the console answers for."""
    return [access for access in user_practices(user) if access.allows("book_appointment")]


@dataclass
class PractitionerToday:
    user: User
    hours: list[str]
    absent: bool


def practitioners_today(
    practice: Practice, now: datetime, people: list[User]
) -> list[PractitionerToday]:
    """The practice's practitioners (`people`, appointment_selectors.practitioners)
    with today's working ranges and whether an absence covers part of today.
    Two queries whatever their number."""
    ids = [user.pk for user in people]
    local = now.astimezone(appointment_selectors.practice_zone(practice))
    day_start, day_end = appointment_selectors.day_bounds(practice, local.date())
    hours: dict[int, list[str]] = {pid: [] for pid in ids}
    rows = WorkingHours.objects.filter(
        practice=practice, practitioner_id__in=ids, weekday=local.weekday()
    ).order_by("start_time")
    for row in rows:
        hours[row.practitioner_id].append(f"{row.start_time:%H:%M}–{row.end_time:%H:%M}")
    absent = set(
        Absence.objects.filter(
            practice=practice, practitioner_id__in=ids, start__lt=day_end, end__gt=day_start
        ).values_list("practitioner_id", flat=True)
    )
    return [PractitionerToday(user, hours[user.pk], user.pk in absent) for user in people]


def instructions(types: list[AppointmentType]) -> list[tuple[str, str]]:
    """(type, instructions) of the practice's active types (`types`,
    appointment_selectors.appointment_types) that carry instructions for the
    telesecretariat: the practice's "consignes"."""
    return [
        (kind.name, kind.telesecretary_instructions)
        for kind in types
        if kind.telesecretary_instructions
    ]


def bookable_types(types: list[AppointmentType], actor: Actor) -> list[AppointmentType]:
    """The practice's active types (`types`) the actor may book."""
    return [kind for kind in types if rules.may_book_type(actor, kind)]


def recent_choices(practice: Practice, patient) -> list[tuple[int, int]]:
    """(type id, practitioner id) of the patient's last non-cancelled
    appointments, newest first, USUAL_PRACTITIONER_WINDOW of them: what the
    booking panel starts from (default_type, usual_practitioner), one query."""
    return list(
        Appointment.objects.filter(practice=practice, patient=patient)
        .exclude(status=Appointment.Status.CANCELLED)
        .order_by("-start")
        .values_list("appointment_type_id", "practitioner_id")[:USUAL_PRACTITIONER_WINDOW]
    )


def default_type(
    types: list[AppointmentType], recent: list[tuple[int, int]]
) -> AppointmentType | None:
    """The patient's last type (`recent`, recent_choices) when the actor may
    still book it (`types`, bookable_types), else the practice's default type,
    else the first type the actor may book (by name)."""
    if recent:
        last = recent[0][0]
        for kind in types:
            if kind.pk == last:
                return kind
    for kind in types:
        if kind.is_default:
            return kind
    return types[0] if types else None


def usual_practitioner(recent: list[tuple[int, int]], people: list[User]) -> User | None:
    """The practitioner of most of the patient's last appointments (`recent`,
    recent_choices), while still a practitioner of the practice (`people`,
    appointment_selectors.practitioners)."""
    current = {user.pk: user for user in people}
    counts = Counter(practitioner_id for _type, practitioner_id in recent)
    for practitioner_id, _count in counts.most_common():
        if practitioner_id in current:
            return current[practitioner_id]
    return None


# The practice roles that may book: an agent the phone system names holds one.
BOOKING_ROLES = sorted(
    role for role, codenames in ROLE_PERMISSIONS.items() if "book_appointment" in codenames
)


def agent_for(practice: Practice, login: str) -> User | None:
    """The active user of that login who may book for the (active) practice,
    as console_practices() would say, in one query: the webhook asks on each
    call's first event."""
    membership = (
        Membership.objects.active()
        .filter(
            practice=practice,
            practice__status=Practice.Status.ACTIVE,
            user__username=login,
            role__in=BOOKING_ROLES,
        )
        .select_related("user")
        .first()
    )
    return membership.user if membership is not None else None


def line_for(called: str) -> PhoneLine | None:
    """The line of an active practice a called number names, in any format."""
    number = normalise.phone(called)
    if number is None:
        return None
    return (
        PhoneLine.objects.filter(number=number, practice__status=Practice.Status.ACTIVE)
        .select_related("practice")
        .first()
    )


RINGING_FOR = timedelta(minutes=15)


def ringing_call(user: User, now: datetime) -> Call | None:
    """The newest call the phone system gave this agent, still ringing or
    answered, in a practice where they may still book: the one their console
    opens. One query for the call, one for the user's practices."""
    call = (
        Call.objects.filter(
            agent=user,
            state__in=[Call.State.RINGING, Call.State.ANSWERED],
            started_at__gte=now - RINGING_FOR,
        )
        .select_related("practice")
        .order_by("-started_at")
        .first()
    )
    if call is None:
        return None
    practices = {access.practice.pk for access in console_practices(user)}
    return call if call.practice_id in practices else None


def call_in_practice(practice: Practice, call_id) -> Call | None:
    return Call.objects.filter(practice=practice, pk=call_id).first()


REPORT_DAYS = 31


def calls_per_day(practice: Practice, now: datetime) -> list[dict]:
    """The practice's calls of the last REPORT_DAYS local days: per day, the
    count of each outcome (no caller, no patient). One query."""
    zone = appointment_selectors.practice_zone(practice)
    first_day = now.astimezone(zone).date() - timedelta(days=REPORT_DAYS - 1)
    since, _end = appointment_selectors.day_bounds(practice, first_day)
    rows = (
        Call.objects.filter(practice=practice, started_at__gte=since)
        .annotate(day=TruncDate("started_at", tzinfo=zone))
        .values("day", "outcome")
        .annotate(count=Count("id"))
        .order_by("-day")
    )
    counts: dict = {}
    for row in rows:
        counts.setdefault(row["day"], {})[row["outcome"]] = row["count"]
    return [
        {
            "day": day,
            "counts": [found.get(outcome, 0) for outcome in Call.Outcome.values],
            "open": found.get("", 0),
            "total": sum(found.values()),
        }
        for day, found in counts.items()
    ]


def calls_per_practice(start: datetime, end: datetime) -> list[dict]:
    """The platform's call volume per practice over [start, end), by source:
    what the provider bills on. One query, no caller."""
    return list(
        Call.objects.filter(started_at__gte=start, started_at__lt=end)
        .values("practice__name", "practice__slug")
        .annotate(
            total=Count("id"),
            by_phone=Count("id", filter=Q(source=Call.Source.PHONE_SYSTEM)),
            by_hand=Count("id", filter=Q(source=Call.Source.BY_HAND)),
        )
        .order_by("practice__name")
    )


REPLIES_SHOWN = 5


def replies_for(practice: Practice, patient) -> list[MessageReply]:
    """The practitioners' latest answers to messages about this patient, newest
    first: what the telesecretary tells the patient on their next call."""
    return list(
        MessageReply.objects.filter(practice=practice, patient=patient)
        .select_related("author")
        .order_by("-created_at")[:REPLIES_SHOWN]
    )
