"""Double booking under real concurrency, on PostgreSQL: threads with their own
connections book the same slot through the service, in one practice or, for a
practitioner working for two, in both at once; and the exclusion constraint
refuses an overlapping row written behind the application's back."""

import threading
import uuid

import pytest
from django.db import IntegrityError, connection, connections, transaction

from accounts.scoping import practice_scope
from appointments.models import Appointment, PractitionerSettings
from appointments.services.base import SlotTaken
from appointments.services.booking import appointment_book
from tests.appointments.helpers import appointment_type, at, booked, booking_world, schedule
from tests.factories import as_actor, grant
from tests.patients.helpers import make_patient
from tests.scoping import every_practice

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL guard"),
]

THREADS = 5


def test_concurrent_bookings_of_one_slot_give_exactly_one_success(world):
    setup = booking_world(world)
    patients = [make_patient(world.practice_a, last_name=f"Appelant{i}") for i in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def book(patient) -> None:
        try:
            with practice_scope(world.practice_a):
                barrier.wait(timeout=10)
                try:
                    appointment_book(
                        actor=as_actor(world.users["telesecretary_a"], "telesecretary"),
                        practice=setup.practice,
                        practitioner=setup.practitioner,
                        patient=patient,
                        appointment_type=setup.kind,
                        start=at(setup.monday, 10),
                        reason="Même créneau",
                    )
                    outcome = "booked"
                except SlotTaken:
                    outcome = "taken"
                except Exception as error:  # reported to the test
                    outcome = f"error: {type(error).__name__}: {error}"
            with lock:
                outcomes.append(outcome)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=book, args=(patient,)) for patient in patients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["booked"] + ["taken"] * (THREADS - 1)
    with practice_scope(world.practice_a):
        assert Appointment.objects.filter(practice=setup.practice).count() == 1


def test_concurrent_bookings_of_overlapping_slots_give_one_success(world):
    setup = booking_world(world)
    # On a 5-minute grid, pairwise overlapping (30 minutes each).
    with practice_scope(world.practice_a):
        PractitionerSettings.objects.create(
            practice=setup.practice, practitioner=setup.practitioner, slot_minutes=5
        )
    starts = [at(setup.monday, 10, 0), at(setup.monday, 10, 15), at(setup.monday, 10, 20)]
    barrier = threading.Barrier(len(starts))
    outcomes: list[str] = []

    def book(start) -> None:
        try:
            with practice_scope(world.practice_a):
                barrier.wait(timeout=10)
                try:
                    appointment_book(
                        actor=as_actor(None, "telesecretary"),
                        practice=setup.practice,
                        practitioner=setup.practitioner,
                        patient=setup.patient,
                        appointment_type=setup.kind,
                        start=start,
                        reason="",
                    )
                    outcomes.append("booked")
                except SlotTaken:
                    outcomes.append("taken")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=book, args=(start,)) for start in starts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["booked", "taken", "taken"]


def test_concurrent_bookings_of_one_practitioner_in_two_practices_give_one_success(world):
    # One person, two practices: the exclusion constraint is per practice
    # (migration 0012), the lock on the practitioner's user row serialises the
    # two practices' bookings, and the second sees the first in the busy time.
    setup = booking_world(world)
    dr = setup.practitioner
    with every_practice():  # the platform admin's grant
        grant(dr, "practitioner", world.practice_b)
    with practice_scope(world.practice_b):
        schedule(world.practice_b, dr)
        kind_b = appointment_type(world.practice_b)
    sides = [(world.practice_a, setup.kind), (world.practice_b, kind_b)] * 2
    callers = [
        (practice, kind, make_patient(practice, last_name=f"Appelant{i}"))
        for i, (practice, kind) in enumerate(sides)
    ]
    barrier = threading.Barrier(len(callers))
    outcomes: list[str] = []
    lock = threading.Lock()

    def book(practice, kind, patient) -> None:
        try:
            with practice_scope(practice):
                barrier.wait(timeout=10)
                try:
                    appointment_book(
                        actor=as_actor(None, "telesecretary"),
                        practice=practice,
                        practitioner=dr,
                        patient=patient,
                        appointment_type=kind,
                        start=at(setup.monday, 10),
                        reason="",
                    )
                    outcome = "booked"
                except SlotTaken:
                    outcome = "taken"
                except Exception as error:  # reported to the test
                    outcome = f"error: {type(error).__name__}: {error}"
            with lock:
                outcomes.append(outcome)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=book, args=caller) for caller in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["booked"] + ["taken"] * (len(callers) - 1)
    with every_practice():
        booked_rows = Appointment._base_manager.filter(practitioner=dr, start=at(setup.monday, 10))
        assert booked_rows.count() == 1


def _raw_insert(existing: Appointment, start, end, status="booked") -> None:
    """A row written with SQL, skipping every application check (in the
    practice's scope: row security would refuse it otherwise)."""
    with practice_scope(existing.practice_id), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO appointments_appointment (id, practice_id, key_version, practitioner_id,"
            ' patient_id, appointment_type_id, start, "end", status, cancellation_category,'
            " reason_sealed, created_at, updated_at)"
            " VALUES (%s, %s, 0, %s, %s, %s, %s, %s, %s, '', %s, now(), now())",
            [
                uuid.uuid4(),
                existing.practice_id,
                existing.practitioner_id,
                existing.patient_id,
                existing.appointment_type_id,
                start,
                end,
                status,
                b"",
            ],
        )


def test_exclusion_constraint_refuses_overlap_behind_the_applications_back(world):
    setup = booking_world(world)
    existing = booked(world, hour=10)
    with pytest.raises(IntegrityError, match="appointment_no_overlap"), transaction.atomic():
        _raw_insert(existing, at(setup.monday, 10, 15), at(setup.monday, 10, 45))
    # Adjacent rows and cancelled rows do not collide.
    _raw_insert(existing, at(setup.monday, 10, 30), at(setup.monday, 11))
    _raw_insert(existing, at(setup.monday, 10), at(setup.monday, 10, 30), status="cancelled")
    # Reviving the cancelled one onto the taken slot is refused too.
    refused = pytest.raises(IntegrityError)
    scope = practice_scope(existing.practice_id)
    with refused, transaction.atomic(), scope, connection.cursor() as cursor:
        cursor.execute(
            "UPDATE appointments_appointment SET status = 'booked' WHERE status = 'cancelled'"
        )
