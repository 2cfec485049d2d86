"""Demo agenda (synthetic): appointment types, Monday-Friday schedules
(9:00-12:00, 14:00-18:00) and two weeks of appointments for the demo patients,
booked through the service like a telesecretary would. Idempotent: types and
schedules are created once; appointments only when the practice has none."""

import random
from datetime import datetime, time, timedelta

from django.utils import timezone

from accounts.models import Practice
from accounts.roles import Role
from accounts.scoping import practice_scope
from appointments import selectors, services
from appointments.models import (
    Appointment,
    AppointmentType,
    Colour,
    PractitionerSettings,
    WorkingHours,
)
from appointments.slots import find_free_slots
from patients.models import Patient

DEMO_TYPES = [
    # name, minutes, colour, bookable by the telesecretary, instructions, weight
    (
        "Consultation",
        20,
        Colour.BLUE,
        True,
        "Demander le motif en quelques mots et rappeler d'apporter la carte Vitale.",
        6,
    ),
    (
        "Première consultation",
        40,
        Colour.GREEN,
        True,
        "Nouveau patient : venir 10 minutes en avance avec les derniers comptes rendus "
        "et l'ordonnance en cours.",
        2,
    ),
    (
        "Petite chirurgie",
        45,
        Colour.RED,
        False,
        "Réservé au cabinet : ne pas réserver, laisser un message au praticien.",
        1,
    ),
]
DEMO_REASONS = [
    "Renouvellement d'ordonnance",
    "Fièvre depuis deux jours",
    "Contrôle de tension",
    "Certificat de sport",
    "Douleurs lombaires",
    "Suivi",
    "Toux persistante",
]
DEMO_HOURS = [(time(9), time(12)), (time(14), time(18))]
DAYS = 14
PER_DAY = 5


def demo_agenda(practice: Practice) -> None:
    with practice_scope(practice):
        types = [_type(practice, spec) for spec in DEMO_TYPES]
        doctors = list(selectors.practitioners(practice))
        for doctor in doctors:
            _schedule(practice, doctor)
        patients = list(Patient.objects.filter(practice=practice).order_by("created_at", "pk"))
        if not patients or Appointment.objects.filter(practice=practice).exists():
            return
        rng = random.Random(practice.pk)  # the same demo on every fresh database
        weights = [spec[-1] for spec in DEMO_TYPES]
        zone = selectors.practice_zone(practice)
        today = timezone.now().astimezone(zone).date()
        for doctor in doctors:
            for offset in range(DAYS):
                day = today + timedelta(days=offset)
                if day.weekday() >= 5:
                    continue
                _book_day(practice, doctor, day, zone, types, weights, patients, rng)


def _type(practice: Practice, spec: tuple) -> AppointmentType:
    name, minutes, colour, bookable, instructions, _weight = spec
    kind, _created = AppointmentType.objects.get_or_create(
        practice=practice,
        name=name,
        defaults={
            "duration_minutes": minutes,
            "colour": colour,
            "bookable_by_telesecretary": bookable,
            "telesecretary_instructions": instructions,
        },
    )
    return kind


def _schedule(practice: Practice, doctor) -> None:
    PractitionerSettings.objects.get_or_create(practice=practice, practitioner=doctor)
    if WorkingHours.objects.filter(practice=practice, practitioner=doctor).exists():
        return
    WorkingHours.objects.bulk_create(
        WorkingHours(
            practice=practice, practitioner=doctor, weekday=weekday, start_time=start, end_time=end
        )
        for weekday in range(5)
        for start, end in DEMO_HOURS
    )


def _book_day(practice, doctor, day, zone, types, weights, patients, rng) -> None:
    start_from = max(timezone.now(), datetime.combine(day, time.min, tzinfo=zone))
    for _index in range(PER_DAY):
        kind = rng.choices(types, weights)[0]
        free = [
            slot
            for slot in find_free_slots(
                practice=practice,
                appointment_type=kind,
                practitioner=doctor,
                start_from=start_from,
                count=24,
            )
            if slot.start.astimezone(zone).date() == day
        ]
        if not free:
            return
        slot = rng.choice(free)
        services.appointment_book(
            practice=practice,
            practitioner=doctor,
            patient=rng.choice(patients),
            appointment_type=kind,
            start=slot.start,
            reason=rng.choice(DEMO_REASONS),
            actor=None,
            acting_role=Role.PRACTITIONER,
        )
