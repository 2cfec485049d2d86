"""Per-practice queue (issue 18 item 2): telesecretaries booking at once, in one
practice and in separate practices, through the booking service (checks, the
practitioner's lock, sealing, history, the audit append), each writer its own
process and database connection.

    python -m bench.contention                     # 8 writers, 15 s per scenario
    python -m bench.contention --writers 8 --seconds 30

Scenarios, side by side in one run, each on fresh days of the calendar:
- 1 writer in one practice: the uncontended booking (baseline latency);
- N writers in one practice, each for their own practitioner: only what the
  practice shares is contended (its audit chain, its key's row);
- N writers in N practices: nothing shared but the machine.

Each line also says how often a busy writer's backend was waiting on a lock
(sampled from pg_stat_activity every 20 ms): the per-practice queue, as opposed
to waiting for the CPU. Goals: N practices >= 3x one practice's throughput; in one
practice, the p95 of a booking under N-way contention <= 3x the uncontended one.
The machine has 2 CPUs: N processes compete for them too, which no lock removes;
the last line therefore compares N writers in one practice with N writers in N
practices, the practice's own queue apart from the CPUs'.

Runs in a throw-away database (created and dropped here).
"""

import argparse
import multiprocessing
import os
import statistics
import threading
import time
import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from datetime import time as clock

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secretariat.settings")
os.environ.setdefault("SECRETARIAT_ENV", "test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from audit.context import Actor  # noqa: E402
from bench.goals import goal  # noqa: E402

STEP_MINUTES = 15
SLOTS_PER_DAY = 36  # 09:00-18:00 on a 15-minute grid


def _practice(practitioners: int) -> dict:
    """A practice with its practitioners (Monday-Friday 9-18), one type, one
    telesecretary and one patient; ids only (they cross a fork)."""
    from accounts import services as account_services
    from accounts.models import User
    from accounts.roles import Role
    from accounts.scoping import practice_scope
    from appointments.models import AppointmentType, PractitionerSettings, WorkingHours
    from patients.services import Identity, patient_create

    system = Actor.system("bench")
    tag = uuid.uuid4().hex[:6]
    practice = account_services.practice_create(
        name=f"Bench {tag}", slug=f"bench-{tag}", actor=system, status="active"
    )
    doctors = []
    for index in range(practitioners):
        user = User.objects.create(username=f"bench-dr-{index}-{tag}")
        account_services.membership_grant(
            user=user, role=Role.PRACTITIONER, practice=practice, actor=system, confirmed=True
        )
        doctors.append(user.pk)
    secretary = User.objects.create(username=f"bench-tele-{tag}")
    account_services.membership_grant(
        user=secretary, role=Role.TELESECRETARY, practice=practice, actor=system, confirmed=True
    )
    with practice_scope(practice):
        WorkingHours.objects.bulk_create(
            WorkingHours(
                practice=practice,
                practitioner_id=doctor,
                weekday=day,
                start_time=clock(9),
                end_time=clock(18),
            )
            for doctor in doctors
            for day in range(5)
        )
        PractitionerSettings.objects.bulk_create(
            PractitionerSettings(
                practice=practice, practitioner_id=doctor, slot_minutes=STEP_MINUTES
            )
            for doctor in doctors
        )
        kind = AppointmentType.objects.create(
            practice=practice, name="C", duration_minutes=STEP_MINUTES
        )
        patient = patient_create(
            practice=practice,
            identity=Identity(last_name="Banc", first_names="Test", birth_date=date(1980, 1, 1)),
            actor=system,
        )
    return {
        "practice": practice.pk,
        "doctors": doctors,
        "secretary": secretary.pk,
        "kind": kind.pk,
        "patient": str(patient.pk),
    }


def _slots(practice_id: int, first_day: date):
    """Every 15-minute start of the working days from first_day, in order."""
    from accounts.models import Practice
    from appointments.selectors import practice_zone

    zone = practice_zone(Practice.objects.get(pk=practice_id))
    day = first_day
    while True:
        if day.weekday() < 5:
            begin = datetime.combine(day, clock(9), tzinfo=zone)
            for index in range(SLOTS_PER_DAY):
                yield begin + timedelta(minutes=STEP_MINUTES * index)
        day += timedelta(days=1)


def _writer(job: tuple) -> list[tuple[float, float]]:
    """Book one slot after another for `seconds`; (end time, latency in s) each."""
    world, doctor_id, first_day, seconds, start_at = job
    from accounts.models import Practice, User
    from accounts.scoping import practice_scope
    from appointments.models import AppointmentType
    from appointments.services.booking import appointment_book
    from patients.models import Patient

    connection.close()  # never the parent's connection
    practice = Practice.objects.get(pk=world["practice"])
    secretary = User.objects.get(pk=world["secretary"])
    doctor = User.objects.get(pk=doctor_id)
    actor = Actor(user=secretary).acting_as("telesecretary").in_practice(practice)
    with practice_scope(practice):
        kind = AppointmentType.objects.get(pk=world["kind"])
        patient = Patient.objects.get(pk=world["patient"])
    slots = _slots(practice.pk, first_day)
    while time.time() < start_at:
        time.sleep(0.005)
    samples = []
    deadline = start_at + seconds
    while time.time() < deadline:
        begin = time.perf_counter()
        with practice_scope(practice):
            appointment_book(
                practice=practice,
                practitioner=doctor,
                patient=patient,
                appointment_type=kind,
                start=next(slots),
                reason="Motif de bench",
                actor=actor,
            )
        samples.append((time.time(), time.perf_counter() - begin))
    connection.close()
    return samples


def _sample_waits(stop: threading.Event, counts: dict) -> None:
    """Every 20 ms, what the other backends of this database wait for: a lock
    (the per-practice queue) or nothing/CPU/IO (the machine)."""
    from django.db import connections

    with connections["default"].cursor() as cursor:
        while not stop.wait(0.02):
            cursor.execute(
                "SELECT wait_event_type = 'Lock', wait_event FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND state = 'active'"
            )
            for locked, event in cursor.fetchall():
                counts["lock" if locked else "running"] += 1
                if locked:
                    counts.setdefault("events", Counter())[event] += 1
    connections["default"].close()


def _scenario(jobs: list, seconds: float) -> dict:
    connection.close()
    start_at = time.time() + 2.0
    jobs = [(*job, seconds, start_at) for job in jobs]
    with multiprocessing.get_context("fork").Pool(len(jobs)) as pool:
        pending = pool.map_async(_writer, jobs)
        waits = {"lock": 0, "running": 0}
        stop = threading.Event()
        sampler = threading.Thread(target=_sample_waits, args=(stop, waits))
        sampler.start()
        results = pending.get()
        stop.set()
        sampler.join()
    latencies = sorted(latency for samples in results for _end, latency in samples)
    count = len(latencies)
    return {
        "bookings": count,
        "per_second": count / seconds,
        "p50": statistics.median(latencies) * 1000,
        "p95": latencies[int(0.95 * (count - 1))] * 1000,
        "max": latencies[-1] * 1000,
        "lock_share": waits["lock"] / max(1, waits["lock"] + waits["running"]),
        "lock_events": ", ".join(
            f"{event} {count}" for event, count in waits.get("events", Counter()).most_common(3)
        ),
    }


def run(writers: int, seconds: float) -> None:
    practices = [_practice(writers) for _ in range(writers)]
    monday = date.today() + timedelta(days=14 - date.today().weekday())
    # Fresh days for each scenario: each writer's practitioner has an empty calendar.
    days = [monday + timedelta(weeks=8 * index) for index in range(3)]
    one = practices[0]
    scenarios = {
        "1 writer, 1 practice": [(one, one["doctors"][0], days[0])],
        f"{writers} writers, 1 practice": [(one, doctor, days[1]) for doctor in one["doctors"]],
        f"{writers} writers, {writers} practices": [
            (world, world["doctors"][0], days[2]) for world in practices
        ],
    }
    print(f"{writers} writers, {seconds:.0f} s per scenario, bookings through appointment_book")
    results = {name: _scenario(jobs, seconds) for name, jobs in scenarios.items()}
    for name, result in results.items():
        print(
            f"  {name:24} {result['bookings']:6} bookings  {result['per_second']:7.1f}/s"
            f"  p50 {result['p50']:7.1f} ms  p95 {result['p95']:7.1f} ms"
            f"  max {result['max']:7.1f} ms  waiting on a lock {result['lock_share']:4.0%}"
            f" ({result['lock_events'] or '-'})"
        )
    alone, shared, spread = results.values()
    throughput = spread["per_second"] / shared["per_second"]
    contended = shared["p95"] / alone["p95"]
    print(f"  {writers} practices vs 1 practice, throughput: {throughput:.2f}x (goal >= 3x)")
    print(
        f"  1 practice, p95 under {writers}-way contention vs uncontended: "
        f"{contended:.2f}x (goal <= 3x)"
    )
    # The same N writers with nothing shared but the machine: what the practice's
    # own queue adds on top of waiting for the CPUs (1.00x: no queue left).
    print(
        f"  the practice's queue alone: 1 practice vs {writers} practices, "
        f"throughput {shared['per_second'] / spread['per_second']:.2f}x, "
        f"p95 {shared['p95'] / spread['p95']:.2f}x ({os.cpu_count()} CPUs for "
        f"{writers} writers and the database)"
    )
    goal(
        issue="18.2",
        figure=f"{writers} writers: {writers} practices vs 1 practice, bookings/s",
        measured=throughput,
        unit="x",
        target=3,
        better="higher",
    )
    goal(
        issue="18.2",
        figure=f"1 practice, booking p95 under {writers}-way contention vs uncontended",
        measured=contended,
        unit="x",
        target=3,
        better="lower",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{old_name}_bench_contention"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        run(args.writers, args.seconds)
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
