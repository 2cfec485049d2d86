"""Queries of the appointments app, always filtered by practice explicitly (the
scoped managers are the tripwire, not the filter). `access_appointment` is the
audited read of one appointment (zulip's access_* style): fetched inside the
practice and recorded in one call."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import F, Q, QuerySet
from django.http import Http404

from accounts.models import Membership, Practice, User
from accounts.roles import Role
from appointments.models import (
    Absence,
    Appointment,
    AppointmentEvent,
    AppointmentSeries,
    AppointmentType,
    CallMessage,
    PractitionerSettings,
    Reminder,
    WaitingListEntry,
    WorkingHours,
    overlapping,
)
from audit.context import Actor
from audit.models import Action, ObjectType
from audit.services import record_event

# What a listing or a detail page shows, joined in the same query.
LISTING_RELATED = ("appointment_type", "practitioner", "patient")


def practice_zone(practice: Practice) -> ZoneInfo:
    return ZoneInfo(practice.timezone or "Europe/Paris")


def practitioners(practice: Practice, *, unconfirmed_too: bool = False) -> QuerySet[User]:
    """Users holding an active practitioner membership in the practice (with
    `unconfirmed_too`, also those still waiting for the practice's confirmation:
    the onboarding prepares their agenda before the practice confirms them)."""
    memberships = Membership.objects.granted() if unconfirmed_too else Membership.objects.active()
    active = practitioner_memberships(memberships).filter(practice=practice)
    return User.objects.filter(pk__in=active.values("user_id")).order_by(
        "last_name", "first_name", "pk"
    )


def practitioner_memberships(memberships: QuerySet | None = None) -> QuerySet:
    """The memberships that make a practitioner of a practice (active ones
    unless `memberships` says otherwise)."""
    memberships = Membership.objects.active() if memberships is None else memberships
    return memberships.filter(role=Role.PRACTITIONER)


def practitioner_in_practice(practice: Practice, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    return practitioners(practice).filter(pk=user_id).first()


def appointment_types(practice: Practice, *, telesecretary: bool = False) -> QuerySet:
    types = AppointmentType.objects.filter(practice=practice, active=True)
    if telesecretary:
        types = types.filter(bookable_by_telesecretary=True)
    return types.order_by("name")


def appointment_in_practice(practice: Practice, appointment_id) -> Appointment | None:
    return (
        Appointment.objects.filter(practice=practice, pk=appointment_id)
        .select_related(*LISTING_RELATED)
        .first()
    )


def day_bounds(practice: Practice, day: date, days: int = 1) -> tuple[datetime, datetime]:
    """[start, end) of `days` local days, as aware datetimes built per day (a DST
    day lasts 23 or 25 hours: never midnight + 24 h)."""
    zone = practice_zone(practice)
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=days), time.min, tzinfo=zone)
    return start, end


def agenda(
    practice: Practice, *, start: datetime, end: datetime, practitioner_ids=None
) -> QuerySet[Appointment]:
    """Non-cancelled appointments of the window with what a listing shows, in
    one query whatever their number."""
    appointments = (
        Appointment.objects.filter(overlapping(start, end), practice=practice)
        .exclude(status=Appointment.Status.CANCELLED)
        .select_related(*LISTING_RELATED)
        .order_by("start")
    )
    if practitioner_ids is not None:
        appointments = appointments.filter(practitioner_id__in=list(practitioner_ids))
    return appointments


INBOX_LIMIT = 100


def inbox(practice: Practice, practitioner: User) -> list[CallMessage]:
    """The practitioner's own messages, unhandled first, newest first; one query."""
    return list(
        CallMessage.objects.filter(practice=practice, practitioner=practitioner)
        .select_related("patient", "author")
        .order_by(F("handled_at").desc(nulls_first=True), "-created_at")[:INBOX_LIMIT]
    )


def message_for(practice: Practice, practitioner: User, message_id) -> CallMessage | None:
    return CallMessage.objects.filter(
        practice=practice, practitioner=practitioner, pk=message_id
    ).first()


WAITING_LIMIT = 200


def waiting_list(practice: Practice, appointment_type_id: int | None = None) -> list:
    """Open entries, oldest first, with what the page shows; one query."""
    entries = WaitingListEntry.objects.filter(practice=practice, resolved_at__isnull=True)
    if appointment_type_id is not None:
        entries = entries.filter(appointment_type_id=appointment_type_id)
    return list(
        entries.select_related("patient", "appointment_type", "practitioner").order_by(
            "created_at"
        )[:WAITING_LIMIT]
    )


REMINDERS_TO_CHECK_LIMIT = 200


def reminders_to_check(practice: Practice, now: datetime) -> list[Reminder]:
    """Reminders claimed but never confirmed sent (stuck), and those a person
    asked to resend, soonest appointment first, with what the page shows."""
    stuck = Q(status=Reminder.Status.PENDING, claimed_at__lte=now - Reminder.STUCK_AFTER)
    return list(
        Reminder.objects.filter(practice=practice)
        .filter(stuck | Q(status=Reminder.Status.RESEND))
        .select_related("appointment__patient", "appointment__practitioner", "handled_by")
        .order_by("appointment__start", "pk")[:REMINDERS_TO_CHECK_LIMIT]
    )


def reminder_in_practice(practice: Practice, reminder_id: int) -> Reminder | None:
    return Reminder.objects.filter(practice=practice, pk=reminder_id).first()


def patient_upcoming(practice: Practice, patient, now: datetime, limit: int = 10) -> list:
    """The patient's next non-cancelled appointments in this practice (for the
    call where they want to move or cancel one); one query."""
    return list(
        Appointment.objects.filter(practice=practice, patient=patient, end__gte=now)
        .exclude(status=Appointment.Status.CANCELLED)
        .select_related("appointment_type", "practitioner")
        .order_by("start")[:limit]
    )


def appointment_history(appointment: Appointment) -> list[AppointmentEvent]:
    return list(appointment.events.filter(practice_id=appointment.practice_id).select_related("by"))


def series_first(series: AppointmentSeries) -> Appointment | None:
    return series.appointments.filter(practice_id=series.practice_id).order_by("start").first()


def appointment_type_in_practice(
    practice: Practice, type_id: int, *, active_only: bool = False
) -> AppointmentType | None:
    types = appointment_types(practice) if active_only else all_appointment_types(practice)
    return types.filter(pk=type_id).first()


def all_appointment_types(practice: Practice) -> QuerySet[AppointmentType]:
    """Every type of the practice, inactive ones included (its settings page)."""
    return AppointmentType.objects.filter(practice=practice).order_by("name")


def working_hours(practice: Practice, practitioner_ids: list[int]) -> QuerySet[WorkingHours]:
    return WorkingHours.objects.filter(
        practice=practice, practitioner_id__in=practitioner_ids
    ).order_by("weekday", "start_time")


def working_hours_in_practice(
    practice: Practice, hours_id: int, *, practitioner: User | None = None
) -> WorkingHours | None:
    """The practice's row; with `practitioner`, only theirs (a practitioner's
    own page: a colleague's row is not found)."""
    rows = WorkingHours.objects.filter(practice=practice, pk=hours_id)
    if practitioner is not None:
        rows = rows.filter(practitioner=practitioner)
    return rows.first()


def practitioner_settings(practice: Practice, practitioner: User) -> PractitionerSettings | None:
    return PractitionerSettings.objects.filter(practice=practice, practitioner=practitioner).first()


def upcoming_absences(
    practice: Practice, practitioner: User, now: datetime, limit: int = 50
) -> list[Absence]:
    return list(
        Absence.objects.filter(practice=practice, practitioner=practitioner, end__gte=now).order_by(
            "start"
        )[:limit]
    )


def absence_in_practice(
    practice: Practice, absence_id: int, *, practitioner: User | None = None
) -> Absence | None:
    rows = Absence.objects.filter(practice=practice, pk=absence_id)
    if practitioner is not None:
        rows = rows.filter(practitioner=practitioner)
    return rows.first()


def waiting_entry_in_practice(practice: Practice, entry_id: int) -> WaitingListEntry | None:
    return WaitingListEntry.objects.filter(practice=practice, pk=entry_id).first()


def access_appointment(
    *, actor: Actor, practice: Practice, appointment_id, detail: dict | None = None
) -> Appointment:
    """The practice's appointment (404 for another practice's id, as for a
    missing one), its view recorded (`detail` says for what)."""
    appointment = appointment_in_practice(practice, appointment_id)
    if appointment is None:
        raise Http404
    record_event(
        actor=actor,
        action=Action.VIEW,
        practice=appointment.practice_id,
        object_type=ObjectType.APPOINTMENT,
        object_id=appointment.pk,
        detail=detail,
    )
    return appointment
