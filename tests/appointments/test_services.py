"""Booking, moving, cancelling and status changes through the services."""

from datetime import UTC, timedelta

import pytest
from django.db import IntegrityError, connection

from accounts.scoping import practice_scope
from appointments.models import Appointment, AppointmentEvent
from appointments.services.base import BookingError, SlotTaken, TypeNotBookable, save_or_slot_taken
from appointments.services.booking import (
    appointment_book,
    appointment_cancel,
    appointment_move,
    appointment_set_status,
)
from appointments.slots import find_free_slots
from audit.models import AuditEvent
from secretariat.crypto import DecryptionError
from tests.appointments.helpers import at, booked, booking_world
from tests.factories import as_actor, grant
from tests.patients.helpers import make_patient
from tests.scoping import every_practice


@pytest.fixture
def setup(world):
    booking = booking_world(world)
    with practice_scope(world.practice_a):
        yield booking


def test_book_creates_sealed_appointment_history_and_audit(world, setup):
    appointment = booked(world, reason="Douleur thoracique depuis hier")
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED
    assert appointment.end - appointment.start == timedelta(minutes=30)
    assert appointment.read("reason") == "Douleur thoracique depuis hier"
    assert b"thoracique" not in bytes(appointment.reason_sealed)
    assert list(appointment.events.values_list("kind", flat=True)) == ["created"]
    event = AuditEvent.objects.filter(object_type="appointment").get()
    assert event.action == "create"
    assert event.object_id == str(appointment.pk)
    assert "thoracique" not in str(event.detail)
    assert event.role == "telesecretary"


def test_book_reason_does_not_open_on_another_row(world, setup):
    first = booked(world, hour=10, reason="Motif A")
    second = booked(world, hour=11, reason="Motif B")
    second.reason_sealed = first.reason_sealed
    with pytest.raises(DecryptionError):
        second.read("reason")


def test_book_overlapping_slot_is_refused(world, setup):
    booked(world, hour=10)
    with pytest.raises(SlotTaken) as refused:
        booked(world, start=at(setup.monday, 10, 15))
    assert "tout juste" in refused.value.message
    assert Appointment.objects.filter(practice=setup.practice).count() == 1


def test_book_adjacent_slots_are_accepted(world, setup):
    booked(world, hour=10)
    booked(world, start=at(setup.monday, 10, 30))
    booked(world, start=at(setup.monday, 9, 30))
    assert Appointment.objects.filter(practice=setup.practice).count() == 3


def test_book_outside_hours_or_in_the_past_is_refused(world, setup):
    with pytest.raises(BookingError, match="horaires"):
        booked(world, start=at(setup.monday, 12, 45))
    with pytest.raises(BookingError, match="horaires"):
        booked(world, start=at(setup.monday, 11, 45))  # would end at 12:15
    with pytest.raises(BookingError, match="passé"):
        booked(world, start=at(setup.monday - timedelta(days=28), 10))
    assert not Appointment.objects.filter(practice=setup.practice).exists()


def test_book_during_absence_is_refused(world, setup):
    from tests.appointments.helpers import absence

    absence(setup.practice, setup.practitioner, at(setup.monday, 0), at(setup.monday, 23))
    with pytest.raises(SlotTaken):
        booked(world, hour=10)


def test_book_type_kept_for_practice_refused_to_telesecretary(world, setup):
    with pytest.raises(TypeNotBookable):
        booked(world, kind=setup.private_kind)
    appointment = appointment_book(
        actor=as_actor(setup.practitioner, "practitioner"),
        practice=setup.practice,
        practitioner=setup.practitioner,
        patient=setup.patient,
        appointment_type=setup.private_kind,
        start=at(setup.monday, 10),
        reason="",
    )
    assert appointment.appointment_type == setup.private_kind


def test_book_refuses_other_practices_patient_practitioner_and_type(world, setup):
    other_patient = make_patient(world.practice_b)
    with pytest.raises(BookingError, match="patient"):
        booked(world, patient=other_patient)
    with pytest.raises(BookingError, match="praticien"):
        appointment_book(
            actor=as_actor(None, "telesecretary"),
            practice=setup.practice,
            practitioner=world.users["practitioner_b"],
            patient=setup.patient,
            appointment_type=setup.kind,
            start=at(setup.monday, 10),
            reason="",
        )
    with pytest.raises(BookingError, match="type"):
        booked(world, kind=setup.foreign.appointment_type)


def test_book_reason_too_long_is_refused(world, setup):
    with pytest.raises(BookingError, match="long"):
        booked(world, reason="x" * 501)


def test_practitioner_of_two_practices_is_busy_in_both(world, setup):
    # One person, two practices: an appointment in B takes the time in A too.
    from tests.appointments.helpers import appointment, appointment_type

    dr = setup.practitioner
    with every_practice():  # the platform admin's grant, made outside practice A's scope
        grant(dr, "practitioner", world.practice_b)
    with practice_scope(world.practice_b):
        kind_b = appointment_type(world.practice_b)
        appointment(world.practice_b, dr, kind_b, at(setup.monday, 10), at(setup.monday, 10, 30))
    slots = find_free_slots(
        practice=setup.practice,
        appointment_type=setup.kind,
        practitioner=dr,
        start_from=at(setup.monday, 9, 45),
        count=2,
    )
    # 09:45 would end at 10:15, inside the appointment in practice B.
    assert [slot.start for slot in slots] == [at(setup.monday, 10, 30), at(setup.monday, 10, 45)]
    with pytest.raises(SlotTaken):
        booked(world, hour=10)
    assert not AppointmentEvent.objects.filter(practice=setup.practice).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="exclusion constraint")
def test_constraint_violation_becomes_slot_taken_other_errors_do_not(world, setup):
    # What a booking racing past the application check meets at insert time.
    existing = booked(world, hour=10)

    def row(start, end) -> Appointment:
        return Appointment(
            practice=setup.practice,
            practitioner=setup.practitioner,
            patient=setup.patient,
            appointment_type=setup.kind,
            start=start,
            end=end,
            reason_sealed=b"-",
        )

    with pytest.raises(SlotTaken):
        save_or_slot_taken(row(existing.start, existing.end), force_insert=True)
    with pytest.raises(IntegrityError):  # not a double booking: not disguised as one
        save_or_slot_taken(row(at(setup.monday, 15), at(setup.monday, 14)), force_insert=True)
    assert Appointment.objects.filter(practice=setup.practice).count() == 1


def test_move_changes_times_and_keeps_history(world, setup):
    appointment = booked(world, hour=10)
    moved = appointment_move(
        actor=as_actor(world.users["telesecretary_a"], "telesecretary"),
        appointment=appointment,
        start=at(setup.monday, 15),
    )
    moved.refresh_from_db()
    assert moved.start == at(setup.monday, 15)
    assert moved.end == at(setup.monday, 15, 30)
    kinds = list(moved.events.order_by("id").values_list("kind", flat=True))
    assert kinds == ["created", "moved"]
    event = moved.events.get(kind="moved")
    assert event.detail["before"]["start"] == at(setup.monday, 10).astimezone(UTC).isoformat()
    # The old slot is free again, the new one is taken.
    slots = find_free_slots(
        practice=setup.practice,
        appointment_type=setup.kind,
        practitioner=setup.practitioner,
        start_from=at(setup.monday, 10),
        count=1,
    )
    assert slots[0].start == at(setup.monday, 10)


def test_move_onto_itself_overlapping_is_allowed_onto_other_refused(world, setup):
    first = booked(world, hour=10)
    booked(world, hour=11)
    appointment_move(
        actor=as_actor(None, "practitioner"), appointment=first, start=at(setup.monday, 10, 15)
    )
    with pytest.raises(SlotTaken):
        appointment_move(
            actor=as_actor(None, "practitioner"), appointment=first, start=at(setup.monday, 10, 45)
        )


def test_cancel_frees_the_slot_and_records_category(world, setup):
    appointment = booked(world, hour=10)
    appointment_cancel(actor=as_actor(), appointment=appointment, category="patient")
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert appointment.cancellation_category == "patient"
    booked(world, hour=10)  # the slot can be booked again
    with pytest.raises(BookingError):
        appointment_cancel(actor=as_actor(), appointment=appointment, category="patient")
    with pytest.raises(BookingError):
        appointment_move(
            actor=as_actor(None, ""), appointment=appointment, start=at(setup.monday, 15)
        )


def test_cancel_needs_a_known_category(world, setup):
    appointment = booked(world, hour=10)
    with pytest.raises(BookingError):
        appointment_cancel(actor=as_actor(), appointment=appointment, category="whim")


def _today(setup, minutes_from_now: int = 0) -> Appointment:
    from django.utils import timezone

    from tests.appointments.helpers import appointment

    start = timezone.now().replace(microsecond=0) + timedelta(minutes=minutes_from_now)
    return appointment(
        setup.practice,
        setup.practitioner,
        setup.kind,
        start,
        start + timedelta(minutes=10),
        patient=setup.patient,
    )


def test_status_transitions(world, setup):
    appointment = _today(setup)
    appointment_set_status(actor=as_actor(), appointment=appointment, status="arrived")
    appointment_set_status(actor=as_actor(), appointment=appointment, status="done")
    with pytest.raises(BookingError):
        appointment_set_status(actor=as_actor(), appointment=appointment, status="no_show")
    other = _today(setup, minutes_from_now=-30)
    appointment_set_status(actor=as_actor(), appointment=other, status="no_show")
    with pytest.raises(BookingError):
        appointment_set_status(actor=as_actor(), appointment=other, status="booked")
    kinds = list(appointment.events.order_by("id").values_list("kind", "detail"))
    assert kinds == [
        ("status", {"before": "booked", "after": "arrived"}),
        ("status", {"before": "arrived", "after": "done"}),
    ]


def test_status_refused_before_the_appointments_day(world, setup):
    future = booked(world, hour=10)
    with pytest.raises(BookingError, match="pas encore"):
        appointment_set_status(actor=as_actor(), appointment=future, status="no_show")
    future.refresh_from_db()
    assert future.status == "booked"


def test_book_across_the_autumn_change_lasts_its_real_duration(world, setup):
    # 31 October 2027, Europe/Paris: 03:00 CEST becomes 02:00 CET. A 90-minute
    # appointment from 01:30 (CEST) ends at 02:00 (CET), not at 03:00.
    from datetime import time

    from tests.appointments.helpers import appointment_type, paris, schedule

    schedule(setup.practice, setup.practitioner, {6: [(time(0), time(6))]})
    long = appointment_type(setup.practice, minutes=90, name="Garde")
    appointment = booked(world, kind=long, start=paris(2027, 10, 31, 1, 30))
    appointment.refresh_from_db()
    assert appointment.end - appointment.start == timedelta(minutes=90)
    assert appointment.end.astimezone(UTC).isoformat() == "2027-10-31T01:00:00+00:00"
