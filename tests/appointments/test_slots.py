"""Slot finding: working hours, absences, appointments, durations, DST days."""

from datetime import UTC, datetime, time, timedelta

import pytest

from accounts.scoping import practice_scope
from appointments.models import Appointment
from appointments.slots import find_free_slots, slot_is_free
from tests.appointments.helpers import (
    PARIS,
    absence,
    appointment,
    appointment_type,
    paris,
    schedule,
)

MONDAY = (2027, 1, 4)


@pytest.fixture
def scoped(world):
    with practice_scope(world.practice_a):
        yield world


def _local(slots) -> list[str]:
    return [slot.start.astimezone(PARIS).strftime("%a %d %H:%M") for slot in slots]


def _find(world, kind, **kwargs):
    kwargs.setdefault("practitioner", world.users["practitioner_a"])
    return find_free_slots(practice=world.practice_a, appointment_type=kind, **kwargs)


def test_slots_follow_working_hours_and_granularity(scoped):
    dr = scoped.users["practitioner_a"]
    schedule(scoped.practice_a, dr)
    kind = appointment_type(scoped.practice_a, minutes=30)
    slots = _find(scoped, kind, start_from=paris(*MONDAY, 7, 0), count=12)
    assert _local(slots) == [
        "Mon 04 09:00",
        "Mon 04 09:15",
        "Mon 04 09:30",
        "Mon 04 09:45",
        "Mon 04 10:00",
        "Mon 04 10:15",
        "Mon 04 10:30",
        "Mon 04 10:45",
        "Mon 04 11:00",
        "Mon 04 11:15",
        "Mon 04 11:30",  # ends at 12:00, the end of the morning range
        "Mon 04 14:00",
    ]
    assert all(slot.end - slot.start == timedelta(minutes=30) for slot in slots)
    assert {slot.practitioner_id for slot in slots} == {dr.pk}


def test_slots_start_from_rounds_up_to_the_grid(scoped):
    schedule(scoped.practice_a, scoped.users["practitioner_a"])
    kind = appointment_type(scoped.practice_a)
    slots = _find(scoped, kind, start_from=paris(*MONDAY, 10, 7), count=1)
    assert _local(slots) == ["Mon 04 10:15"]


def test_slots_honour_practitioner_slot_minutes(scoped):
    schedule(scoped.practice_a, scoped.users["practitioner_a"], slot_minutes=20)
    kind = appointment_type(scoped.practice_a, minutes=20)
    slots = _find(scoped, kind, start_from=paris(*MONDAY, 7, 0), count=3)
    assert _local(slots) == ["Mon 04 09:00", "Mon 04 09:20", "Mon 04 09:40"]


def test_slots_skip_the_weekend(scoped):
    schedule(scoped.practice_a, scoped.users["practitioner_a"])
    kind = appointment_type(scoped.practice_a)
    slots = _find(scoped, kind, start_from=paris(2027, 1, 8, 17, 45), count=1)
    assert _local(slots) == ["Mon 11 09:00"]


def test_slots_avoid_absences(scoped):
    dr = scoped.users["practitioner_a"]
    schedule(scoped.practice_a, dr)
    kind = appointment_type(scoped.practice_a)
    absence(scoped.practice_a, dr, paris(*MONDAY, 8, 0), paris(*MONDAY, 11, 0))
    absence(scoped.practice_a, dr, paris(*MONDAY, 14, 0), paris(2027, 1, 8, 23, 0))
    slots = _find(scoped, kind, start_from=paris(*MONDAY, 7, 0), count=5)
    assert _local(slots) == [
        "Mon 04 11:00",
        "Mon 04 11:15",
        "Mon 04 11:30",
        "Mon 11 09:00",
        "Mon 11 09:15",
    ]


def test_slots_avoid_existing_appointments_but_not_cancelled_ones(scoped):
    dr = scoped.users["practitioner_a"]
    schedule(scoped.practice_a, dr)
    kind = appointment_type(scoped.practice_a)
    appointment(scoped.practice_a, dr, kind, paris(*MONDAY, 9, 0), paris(*MONDAY, 9, 30))
    appointment(
        scoped.practice_a,
        dr,
        kind,
        paris(*MONDAY, 9, 30),
        paris(*MONDAY, 10, 0),
        status=Appointment.Status.CANCELLED,
    )
    slots = _find(scoped, kind, start_from=paris(*MONDAY, 7, 0), count=2)
    assert _local(slots) == ["Mon 04 09:30", "Mon 04 09:45"]


def test_slots_fit_the_whole_duration_between_appointments(scoped):
    dr = scoped.users["practitioner_a"]
    schedule(scoped.practice_a, dr)
    short = appointment_type(scoped.practice_a, minutes=15, name="Court")
    long = appointment_type(scoped.practice_a, minutes=60, name="Long")
    appointment(scoped.practice_a, dr, short, paris(*MONDAY, 10, 0), paris(*MONDAY, 10, 30))
    slots = _find(scoped, long, start_from=paris(*MONDAY, 7, 0), count=5)
    assert _local(slots) == [
        "Mon 04 09:00",
        "Mon 04 10:30",
        "Mon 04 10:45",
        "Mon 04 11:00",
        "Mon 04 14:00",
    ]


def test_slots_of_all_practitioners_are_interleaved_by_time(scoped):
    from tests.factories import UserFactory, grant

    dr_a = scoped.users["practitioner_a"]
    dr_c = grant(UserFactory(username="dr_c"), "practitioner", scoped.practice_a)
    schedule(scoped.practice_a, dr_a)
    schedule(scoped.practice_a, dr_c, {0: [(time(8, 0), time(9, 30))]})
    # practitioner_b works in practice B: never proposed here.
    with practice_scope(scoped.practice_b):
        schedule(scoped.practice_b, scoped.users["practitioner_b"], {0: [(time(7), time(20))]})
    kind = appointment_type(scoped.practice_a)
    slots = find_free_slots(
        practice=scoped.practice_a,
        appointment_type=kind,
        start_from=paris(*MONDAY, 7, 0),
        count=6,
    )
    assert [(slot.practitioner_id, _local([slot])[0]) for slot in slots] == [
        (dr_c.pk, "Mon 04 08:00"),
        (dr_c.pk, "Mon 04 08:15"),
        (dr_c.pk, "Mon 04 08:30"),
        (dr_c.pk, "Mon 04 08:45"),
        (dr_a.pk, "Mon 04 09:00"),
        (dr_c.pk, "Mon 04 09:00"),
    ]


def test_slots_of_all_practitioners_keep_each_their_own_step(scoped, django_assert_num_queries):
    from appointments.selectors import practitioners
    from tests.factories import UserFactory, grant

    dr_a = scoped.users["practitioner_a"]
    dr_c = grant(UserFactory(username="dr_c"), "practitioner", scoped.practice_a)
    schedule(scoped.practice_a, dr_a, {0: [(time(9), time(10))]}, slot_minutes=20)
    schedule(scoped.practice_a, dr_c, {0: [(time(9), time(10))]})  # no settings: the default
    kind = appointment_type(scoped.practice_a, minutes=15)
    among = list(practitioners(scoped.practice_a))
    # The practitioners given: the hours with their steps in one query, then one window.
    with django_assert_num_queries(1 + 1):
        slots = find_free_slots(
            practice=scoped.practice_a,
            appointment_type=kind,
            start_from=paris(*MONDAY, 7, 0),
            count=7,
            among=among,
        )
    assert _local([slot for slot in slots if slot.practitioner_id == dr_a.pk]) == [
        "Mon 04 09:00",
        "Mon 04 09:20",
        "Mon 04 09:40",
    ]
    assert _local([slot for slot in slots if slot.practitioner_id == dr_c.pk]) == [
        "Mon 04 09:00",
        "Mon 04 09:15",
        "Mon 04 09:30",
        "Mon 04 09:45",
    ]


def test_slots_on_spring_dst_day_keep_local_hours(scoped):
    # 29 March 2026: 02:00 CET becomes 03:00 CEST in Europe/Paris.
    dr = scoped.users["practitioner_a"]
    schedule(scoped.practice_a, dr, {5: [(time(9), time(12))], 6: [(time(9), time(12))]})
    kind = appointment_type(scoped.practice_a, minutes=30)
    saturday = _find(scoped, kind, start_from=paris(2026, 3, 28, 0, 0), count=22)
    sunday = [slot for slot in saturday if slot.start.astimezone(PARIS).day == 29]
    saturday = [slot for slot in saturday if slot.start.astimezone(PARIS).day == 28]
    assert len(saturday) == len(sunday) == 11
    assert saturday[0].start == datetime(2026, 3, 28, 8, 0, tzinfo=UTC)  # UTC+1
    assert sunday[0].start == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # UTC+2
    assert _local(sunday)[-1] == "Sun 29 11:30"


def test_slots_across_the_spring_change_count_real_hours(scoped):
    # A night range 00:00-06:00 lasts 5 real hours on 29 March 2026.
    dr = scoped.users["practitioner_a"]
    schedule(scoped.practice_a, dr, {6: [(time(0), time(6))]}, slot_minutes=60)
    kind = appointment_type(scoped.practice_a, minutes=60)
    slots = _find(scoped, kind, start_from=paris(2026, 3, 28, 12, 0), count=10)
    day = [slot for slot in slots if slot.start < datetime(2026, 3, 30, tzinfo=UTC)]
    assert _local(day) == [
        "Sun 29 00:00",
        "Sun 29 01:00",
        "Sun 29 03:00",
        "Sun 29 04:00",
        "Sun 29 05:00",
    ]
    assert all(slot.end - slot.start == timedelta(hours=1) for slot in day)


def test_slots_across_the_autumn_change_count_real_hours(scoped):
    # 25 October 2026: 03:00 CEST becomes 02:00 CET; 00:00-06:00 lasts 7 hours.
    dr = scoped.users["practitioner_a"]
    schedule(scoped.practice_a, dr, {6: [(time(0), time(6))]}, slot_minutes=60)
    kind = appointment_type(scoped.practice_a, minutes=60)
    slots = _find(scoped, kind, start_from=paris(2026, 10, 24, 12, 0), count=7)
    assert [slot.start.astimezone(PARIS).isoformat() for slot in slots] == [
        "2026-10-25T00:00:00+02:00",
        "2026-10-25T01:00:00+02:00",
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T03:00:00+01:00",
        "2026-10-25T04:00:00+01:00",
        "2026-10-25T05:00:00+01:00",
    ]


def test_slots_on_autumn_dst_day_keep_local_hours(scoped):
    dr = scoped.users["practitioner_a"]
    schedule(
        scoped.practice_a,
        dr,
        {6: [(time(9), time(12))], 0: [(time(9), time(12))]},
        slot_minutes=30,
    )
    kind = appointment_type(scoped.practice_a, minutes=30)
    slots = _find(scoped, kind, start_from=paris(2026, 10, 25, 0, 0), count=12)
    assert slots[0].start == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert _local(slots)[5:7] == ["Sun 25 11:30", "Mon 26 09:00"]
    assert slots[6].start == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)


def test_slots_absence_spanning_the_dst_change(scoped):
    dr = scoped.users["practitioner_a"]
    schedule(scoped.practice_a, dr)
    kind = appointment_type(scoped.practice_a)
    # Friday 27 March 18:00 CET to Monday 30 March 10:00 CEST.
    absence(scoped.practice_a, dr, paris(2026, 3, 27, 18, 0), paris(2026, 3, 30, 10, 0))
    slots = _find(scoped, kind, start_from=paris(2026, 3, 27, 17, 45), count=2)
    assert _local(slots) == ["Mon 30 10:00", "Mon 30 10:15"]
    assert slots[0].start == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_slots_extend_the_window_with_bounded_queries(scoped, django_assert_num_queries):
    dr = scoped.users["practitioner_a"]
    schedule(scoped.practice_a, dr)
    kind = appointment_type(scoped.practice_a)
    # The hours and slot steps in one query. Away for five weeks: the search
    # needs three 14-day windows, one query each (appointments and absences of
    # every practice, through one function).
    absence(scoped.practice_a, dr, paris(*MONDAY, 0, 0), paris(2027, 2, 8, 0, 0))
    with django_assert_num_queries(1 + 3):
        slots = _find(scoped, kind, start_from=paris(*MONDAY, 7, 0), count=1)
    assert _local(slots) == ["Mon 08 09:00"]


def test_slots_stop_at_the_horizon(scoped, django_assert_num_queries):
    dr = scoped.users["practitioner_a"]
    schedule(scoped.practice_a, dr)
    kind = appointment_type(scoped.practice_a)
    absence(scoped.practice_a, dr, paris(*MONDAY, 0, 0), paris(2028, 1, 1, 0, 0))
    with django_assert_num_queries(1 + 3):
        assert _find(scoped, kind, start_from=paris(*MONDAY, 7, 0), horizon_days=42) == []


def test_slots_none_without_working_hours(scoped, django_assert_num_queries):
    kind = appointment_type(scoped.practice_a)
    with django_assert_num_queries(1):
        assert _find(scoped, kind, start_from=paris(*MONDAY, 7, 0)) == []


def test_slot_is_free_checks_hours_absences_and_appointments(scoped):
    dr = scoped.users["practitioner_a"]
    schedule(scoped.practice_a, dr)
    kind = appointment_type(scoped.practice_a)
    appointment(scoped.practice_a, dr, kind, paris(*MONDAY, 9, 0), paris(*MONDAY, 9, 30))
    absence(scoped.practice_a, dr, paris(*MONDAY, 16, 0), paris(*MONDAY, 18, 0))

    def free(*moment, **kwargs):
        return slot_is_free(
            practice=scoped.practice_a,
            appointment_type=kind,
            practitioner=dr,
            start=paris(*MONDAY, *moment),
            **kwargs,
        )

    assert free(9, 30)
    assert not free(9, 15)  # overlaps the appointment
    assert not free(11, 45)  # would end after 12:00
    assert not free(12, 30)  # lunch
    assert not free(16, 0)  # absent
    assert not free(7, 0)  # before opening
    taken = Appointment.objects.get(start=paris(*MONDAY, 9, 0))
    assert free(9, 0, exclude_appointment_id=taken.pk)  # moving it onto itself
