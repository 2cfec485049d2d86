"""Appointments benchmark: next free slots, the week view and the practice's
day with three years of appointments against a week (issue 18 item 4); slot finding on an empty
calendar against one booked
solid for weeks inside a year of appointments (the windows keep it bounded),
the booking service against a bare insert, and the exclusion constraint's
cost on inserts.

    python -m bench.appointments           # 5 practitioners, 3 years of history (~1 min)
    python -m bench.appointments --full    # 20 practitioners
    python -m bench.appointments --windows-only --history-days 365

Runs in a throw-away test database (created and dropped here). Ratios are
against baselines measured in this run.
"""

import argparse
import os
import statistics
import time
import uuid
from datetime import datetime, timedelta
from datetime import time as clock

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secretariat.settings")
os.environ.setdefault("SECRETARIAT_ENV", "test")

import django  # noqa: E402

django.setup()

from django.db import connection, reset_queries, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from audit.context import Actor  # noqa: E402
from bench.goals import goal  # noqa: E402


def _timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def _world(practitioners: int):
    from accounts import services as account_services
    from accounts.models import User
    from accounts.roles import Role
    from accounts.scoping import practice_scope
    from appointments.models import AppointmentType, PractitionerSettings, WorkingHours
    from patients.services import Identity, patient_create

    practice = account_services.practice_create(
        name="Bench",
        slug=f"bench-{uuid.uuid4().hex[:6]}",
        actor=Actor.system("bench"),
        status="active",
    )
    doctors = []
    for index in range(practitioners):
        user = User.objects.create(username=f"bench-dr-{index}-{uuid.uuid4().hex[:4]}")
        account_services.membership_grant(
            user=user,
            role=Role.PRACTITIONER,
            practice=practice,
            actor=Actor.system("bench"),
            confirmed=True,
        )
        doctors.append(user)
    with practice_scope(practice):
        WorkingHours.objects.bulk_create(
            WorkingHours(
                practice=practice, practitioner=doctor, weekday=day, start_time=s, end_time=e
            )
            for doctor in doctors
            for day in range(5)
            for s, e in ((clock(9), clock(12)), (clock(14), clock(18)))
        )
        # 30-minute grid: consecutive proposals never overlap, each can be booked.
        PractitionerSettings.objects.bulk_create(
            PractitionerSettings(practice=practice, practitioner=doctor, slot_minutes=30)
            for doctor in doctors
        )
        kind = AppointmentType.objects.create(practice=practice, name="C", duration_minutes=30)
        patient = patient_create(
            practice=practice,
            identity=Identity(
                last_name="Banc", first_names="Test", birth_date=datetime(1980, 1, 1)
            ),
            actor=Actor.system("bench"),
        )
    return practice, doctors, kind, patient


def _fill(practice, doctors, kind, patient, start_day, days: int) -> int:
    """Every working half-hour of `days` days booked, for every practitioner."""
    from appointments.models import Appointment
    from appointments.selectors import practice_zone

    zone = practice_zone(practice)
    rows = []
    for offset in range(days):
        day = start_day + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for hour in (9, 10, 11, 14, 15, 16, 17):
            for minute in (0, 30):
                begin = datetime.combine(day, clock(hour, minute), tzinfo=zone)
                for doctor in doctors:
                    rows.append(
                        Appointment(
                            practice=practice,
                            practitioner=doctor,
                            patient=patient,
                            appointment_type=kind,
                            start=begin,
                            end=begin + timedelta(minutes=30),
                            reason_sealed=b"-",
                        )
                    )
    Appointment.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def run(practitioners: int, repeat: int) -> None:
    from accounts.scoping import practice_scope
    from appointments.selectors import practice_zone
    from appointments.services.booking import appointment_book
    from appointments.slots import find_free_slots

    empty, empty_doctors, empty_kind, _patient = _world(practitioners)
    full, doctors, kind, patient = _world(practitioners)
    zone = practice_zone(full)
    monday = (datetime.now(zone) + timedelta(days=7)).date()
    monday -= timedelta(days=monday.weekday())
    origin = datetime.combine(monday, clock(0), tzinfo=zone)
    weeks_full = 8
    with practice_scope(full):
        booked = _fill(full, doctors, kind, patient, monday, weeks_full * 7)
        # The rest of the year: every other day booked solid.
        booked += sum(
            _fill(full, doctors, kind, patient, monday + timedelta(days=d), 1)
            for d in range(weeks_full * 7, 365, 2)
        )
    print(f"{practitioners} practitioners, {booked} appointments in the busy practice")

    def find(practice, kind_):
        with practice_scope(practice):
            return find_free_slots(
                practice=practice, appointment_type=kind_, start_from=origin, count=10
            )

    base = _timed(lambda: find(empty, empty_kind), repeat)
    busy = _timed(lambda: find(full, kind), repeat)
    with CaptureQueriesContext(connection) as queries:
        found = find(full, kind)
    print(f"  10 slots, empty calendar:               {base:7.2f} ms (baseline)")
    print(
        f"  10 slots, {weeks_full} weeks booked solid:          {busy:7.2f} ms"
        f"  x{busy / base:.1f}  ({len(queries.captured_queries)} queries,"
        f" first slot {found[0].start.astimezone(zone):%d/%m})"
    )

    # Booking through the service (checks, lock, sealing, history, audit)
    # against a bare ORM insert of the same row.
    from appointments.models import Appointment

    with practice_scope(empty):
        slots = find_free_slots(
            practice=empty, appointment_type=empty_kind, start_from=origin, count=repeat * 2
        )
    free = iter(slots)

    def bare():
        slot = next(free)
        with practice_scope(empty), transaction.atomic():
            Appointment.objects.create(
                practice=empty,
                practitioner_id=slot.practitioner_id,
                patient=_patient,
                appointment_type=empty_kind,
                start=slot.start,
                end=slot.end,
                reason_sealed=b"-",
            )

    def service():
        slot = next(free)
        with practice_scope(empty):
            appointment_book(
                practice=empty,
                practitioner=next(d for d in empty_doctors if d.pk == slot.practitioner_id),
                patient=_patient,
                appointment_type=empty_kind,
                start=slot.start,
                reason="Motif de bench",
                actor=Actor.system("bench"),
            )

    bare_ms = _timed(bare, repeat)
    service_ms = _timed(service, repeat)
    print(f"  bare insert:                            {bare_ms:7.2f} ms (baseline)")
    ratio = service_ms / bare_ms
    print(f"  appointment_book (service, audited):    {service_ms:7.2f} ms  x{ratio:.1f}")

    # The exclusion constraint's cost on inserts: the same bulk insert with and
    # without it, into the busy practice's next (empty) year.
    later = monday + timedelta(days=400)

    def bulk():
        with practice_scope(full), transaction.atomic():
            _fill(full, doctors, kind, patient, later, 28)
            transaction.set_rollback(True)

    with_constraint = _timed(bulk, 3)
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE appointments_appointment DROP CONSTRAINT appointment_no_overlap"
        )
    without = _timed(bulk, 3)
    rows = len(doctors) * 20 * 14
    print(f"  bulk insert {rows} rows, no constraint:   {without:7.2f} ms (baseline)")
    print(
        f"  same with the exclusion constraint:     {with_constraint:7.2f} ms"
        f"  x{with_constraint / without:.2f}"
    )
    reset_queries()


def _fill_history(practice, doctors, kind, patient, first_day, days: int, per_day: int) -> int:
    """`per_day` appointments a working day for each practitioner (a realistic
    density), from `first_day` on."""
    from appointments.models import Appointment
    from appointments.selectors import practice_zone

    zone = practice_zone(practice)
    hours = [(9, 0), (9, 30), (10, 0), (10, 30), (11, 0), (14, 0), (14, 30), (15, 0), (15, 30)]
    rows = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for hour, minute in hours[:per_day]:
            begin = datetime.combine(day, clock(hour, minute), tzinfo=zone)
            for doctor in doctors:
                row = Appointment(
                    practice=practice,
                    practitioner=doctor,
                    patient=patient,
                    appointment_type=kind,
                    start=begin,
                    end=begin + timedelta(minutes=20),
                )
                row.write({"reason": "Renouvellement d'ordonnance"})
                rows.append(row)
    Appointment.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def _next_slots(practice, kind) -> list:
    from django.utils import timezone

    from accounts.scoping import practice_scope
    from appointments.slots import find_free_slots

    with practice_scope(practice):
        return find_free_slots(
            practice=practice, appointment_type=kind, start_from=timezone.now(), count=10
        )


def _week_view(practice, doctor, today) -> list:
    """What the week view queries and decrypts."""
    from accounts.scoping import practice_scope
    from appointments import selectors

    monday = today - timedelta(days=today.weekday())
    with practice_scope(practice):
        start, end = selectors.day_bounds(practice, monday, days=7)
        entries = list(
            selectors.agenda(practice, start=start, end=end, practitioner_ids=[doctor.pk])
        )
        for entry in entries:
            entry.read("reason")
    return entries


def _practice_day(practice, today) -> list:
    """The practice's day view: every practitioner, the window bounded both sides."""
    from accounts.scoping import practice_scope
    from appointments import selectors

    with practice_scope(practice):
        start, end = selectors.day_bounds(practice, today)
        return list(selectors.agenda(practice, start=start, end=end))


def run_history_vs_week(practitioners: int, repeat: int, history_days: int) -> None:
    """The issue's comparison (item 4): next free slots, a practitioner's week
    and the practice's day in a practice holding `history_days` of appointments
    (three years by default) against one holding a week, side by side in one
    run, rounds interleaved so that load from elsewhere hits both alike."""
    from django.utils import timezone

    from accounts.scoping import practice_scope

    worlds = {}
    for label, days in (("1 week", 7), (f"{history_days} days", history_days)):
        practice, doctors, kind, patient = _world(practitioners)
        today = timezone.localdate()
        with practice_scope(practice):
            # The history is mostly past; the coming week is as full as usual.
            count = _fill_history(
                practice, doctors, kind, patient, today - timedelta(days=days - 7), days, 6
            )
        worlds[label] = (count, practice, doctors[0], kind, today)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE appointments_appointment")
    pages = {
        "next 10 free slots": lambda p, d, k, t: _next_slots(p, k),
        "practitioner week view": lambda p, d, k, t: _week_view(p, d, t),
        "practice day view": lambda p, d, k, t: _practice_day(p, t),
    }
    (small, big) = worlds
    print(
        f"{practitioners} practitioners: {worlds[small][0]} appointments ({small}) vs"
        f" {worlds[big][0]} ({big}); min/median/max of {repeat} rounds; goal <= 1.2x"
    )
    ratios = {}
    for name, page in pages.items():
        timings = {label: [] for label in worlds}
        for _ in range(repeat):
            for label, (_count, practice, doctor, kind, today) in worlds.items():
                start = time.perf_counter()
                page(practice, doctor, kind, today)
                timings[label].append((time.perf_counter() - start) * 1000)
        low, high = (statistics.median(timings[label]) for label in worlds)
        spread = " / ".join(
            f"{min(timings[label]):.2f}/{statistics.median(timings[label]):.2f}/"
            f"{max(timings[label]):.2f}"
            for label in worlds
        )
        print(f"  {name:24} {spread} ms  ratio {high / low:.2f}x")
        ratios[name] = high / low
    for name, ratio in ratios.items():
        goal(
            issue="18.4",
            figure=f"{name}, {big} vs {small} of appointments, medians",
            measured=ratio,
            unit="x",
            target=1.2,
            better="lower",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="20 practitioners")
    parser.add_argument("--practitioners", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument(
        "--history-days", type=int, default=3 * 365, help="history of the large practice"
    )
    parser.add_argument(
        "--windows-only", action="store_true", help="only the history vs week comparison"
    )
    args = parser.parse_args()
    practitioners = args.practitioners or (20 if args.full else 5)
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{old_name}_bench_appointments"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        run_history_vs_week(practitioners, args.repeat, args.history_days)
        if not args.windows_only:
            run(practitioners, args.repeat)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
