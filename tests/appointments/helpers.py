"""Builders for appointment tests: schedules, types, appointments."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

from accounts.models import Practice, User
from appointments.models import (
    Absence,
    Appointment,
    AppointmentType,
    PractitionerSettings,
    WorkingHours,
)

PARIS = ZoneInfo("Europe/Paris")

WEEKDAYS_STANDARD = {weekday: [(time(9), time(12)), (time(14), time(18))] for weekday in range(5)}


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def schedule(
    practice: Practice,
    practitioner: User,
    ranges: dict[int, list[tuple[time, time]]] | None = None,
    slot_minutes: int | None = None,
) -> None:
    for weekday, day_ranges in (ranges or WEEKDAYS_STANDARD).items():
        for start, end in day_ranges:
            WorkingHours.objects.create(
                practice=practice,
                practitioner=practitioner,
                weekday=weekday,
                start_time=start,
                end_time=end,
            )
    if slot_minutes is not None:
        PractitionerSettings.objects.create(
            practice=practice, practitioner=practitioner, slot_minutes=slot_minutes
        )


def appointment_type(
    practice: Practice, minutes: int = 30, bookable: bool = True, name: str = "Consultation"
) -> AppointmentType:
    return AppointmentType.objects.create(
        practice=practice,
        name=name,
        duration_minutes=minutes,
        bookable_by_telesecretary=bookable,
        telesecretary_instructions="Demander la carte Vitale.",
    )


def absence(practice: Practice, practitioner: User, start: datetime, end: datetime) -> Absence:
    return Absence.objects.create(
        practice=practice, practitioner=practitioner, start=start, end=end
    )


def appointment(
    practice: Practice,
    practitioner: User,
    kind: AppointmentType,
    start: datetime,
    end: datetime,
    status: str = Appointment.Status.BOOKED,
    **extra,
) -> Appointment:
    """A row written directly (no service): what a slot search must step around."""
    return Appointment.objects.create(
        practice=practice,
        practitioner=practitioner,
        appointment_type=kind,
        start=start,
        end=end,
        status=status,
        **extra,
    )
