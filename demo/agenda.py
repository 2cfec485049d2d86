"""Demo agenda (synthetic): appointment types, Monday-Friday schedules
(9:00-12:00, 14:00-18:00) and two weeks of appointments for the demo patients,
booked through the service like a telesecretary would. Idempotent: types and
schedules are created once; appointments only when the practice has none."""

import random
from datetime import datetime, time, timedelta

from django.utils import timezone

from accounts.models import Practice
from accounts.scoping import practice_scope
from appointments import selectors
from appointments.models import Appointment, AppointmentType
from appointments.services.booking import appointment_book
from appointments.services.schedule import agenda_starter_apply
from appointments.slots import find_free_slots
from appointments.starter import STARTER_TYPES
from demo.people import SEED
from patients.models import Patient

# How often each starter type comes up in the demo agenda.
DEMO_WEIGHTS = [6, 2, 1]
DEMO_REASONS = [
    "Renouvellement d'ordonnance",
    "Fièvre depuis deux jours",
    "Contrôle de tension",
    "Certificat de sport",
    "Douleurs lombaires",
    "Suivi",
    "Toux persistante",
]
DAYS = 14
PER_DAY = 5


def demo_agenda(practice: Practice) -> None:
    with practice_scope(practice):
        agenda_starter_apply(practice=practice, actor=SEED)
        names = [spec[0] for spec in STARTER_TYPES]
        found = {kind.name: kind for kind in AppointmentType.objects.filter(name__in=names)}
        types = [found[name] for name in names]
        doctors = list(selectors.practitioners(practice))
        patients = list(Patient.objects.filter(practice=practice).order_by("created_at", "pk"))
        if not patients or Appointment.objects.filter(practice=practice).exists():
            return
        rng = random.Random(practice.pk)  # the same demo on every fresh database
        weights = DEMO_WEIGHTS
        zone = selectors.practice_zone(practice)
        today = timezone.now().astimezone(zone).date()
        for doctor in doctors:
            for offset in range(DAYS):
                day = today + timedelta(days=offset)
                if day.weekday() >= 5:
                    continue
                _book_day(practice, doctor, day, zone, types, weights, patients, rng)


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
        appointment_book(
            practice=practice,
            practitioner=doctor,
            patient=rng.choice(patients),
            appointment_type=kind,
            start=slot.start,
            reason=rng.choice(DEMO_REASONS),
            actor=SEED,
        )
