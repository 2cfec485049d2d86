"""Builders for appointment tests: schedules, types, appointments."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from accounts.models import Practice, User
from accounts.scoping import practice_scope
from appointments.models import (
    Absence,
    Appointment,
    AppointmentType,
    PractitionerSettings,
    WorkingHours,
)
from patients.models import Patient
from tests.factories import as_actor
from tests.patients.helpers import make_patient

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
    patient: Patient | None = None,
    reason: str = "Douleurs abdominales",
) -> Appointment:
    """A row written directly (no service), e.g. what a slot search must step
    around; the reason is sealed like the service does."""
    row = Appointment(
        practice=practice,
        practitioner=practitioner,
        patient=patient or make_patient(practice),
        appointment_type=kind,
        start=start,
        end=end,
        status=status,
    )
    row.write({"reason": reason})
    row.save(force_insert=True)
    return row


def future_monday(weeks: int = 2) -> date:
    """A Monday at least `weeks` weeks ahead: booking refuses the past."""
    today = datetime.now(PARIS).date()
    return today + timedelta(days=7 * weeks - today.weekday())


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS)


@dataclass
class Booking:
    """Practice A ready to book: practitioner_a's schedule, two types (one kept
    for the practice), a patient; practice B with its own appointment."""

    practice: Practice
    practitioner: User
    kind: AppointmentType
    private_kind: AppointmentType
    patient: Patient
    monday: date
    foreign: Appointment


def booking_world(world) -> Booking:
    if "booking" in world.objects:
        return world.objects["booking"]
    monday = future_monday()
    with practice_scope(world.practice_b):
        dr_b = world.users["practitioner_b"]
        schedule(world.practice_b, dr_b)
        kind_b = appointment_type(world.practice_b)
        foreign = appointment(
            world.practice_b, dr_b, kind_b, at(monday, 9), at(monday, 9, 30), reason="Secret B"
        )
    with practice_scope(world.practice_a):
        dr = world.users["practitioner_a"]
        schedule(world.practice_a, dr)
        booking = Booking(
            practice=world.practice_a,
            practitioner=dr,
            kind=appointment_type(world.practice_a, minutes=30),
            private_kind=appointment_type(
                world.practice_a, minutes=45, bookable=False, name="Petite chirurgie"
            ),
            patient=make_patient(world.practice_a),
            monday=monday,
            foreign=foreign,
        )
    world.objects["booking"] = booking
    return booking


def booked(world, hour: int = 10, **kwargs) -> Appointment:
    """An appointment of practice A made through the service."""
    from appointments.services.booking import appointment_book

    setup = booking_world(world)
    with practice_scope(world.practice_a):
        return appointment_book(
            actor=kwargs.pop("actor", None)
            or as_actor(world.users["telesecretary_a"], "telesecretary"),
            practice=setup.practice,
            practitioner=setup.practitioner,
            patient=kwargs.pop("patient", setup.patient),
            appointment_type=kwargs.pop("kind", setup.kind),
            start=kwargs.pop("start", at(setup.monday, hour)),
            reason=kwargs.pop("reason", "Renouvellement d'ordonnance"),
            **kwargs,
        )


def stuck_reminder(appointment: Appointment, minutes_ago: int = 60, channel: str = "email"):
    """A reminder claimed `minutes_ago` and never confirmed sent, as a worker
    killed mid-send leaves it."""
    from django.utils import timezone

    from appointments.models import Reminder

    with practice_scope(appointment.practice):
        return Reminder.objects.create(
            practice=appointment.practice,
            appointment=appointment,
            channel=channel,
            status=Reminder.Status.PENDING,
            claimed_at=timezone.now() - timedelta(minutes=minutes_ago),
        )
