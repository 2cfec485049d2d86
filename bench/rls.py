"""Row-level security's cost: the same operations, in process, with the
policies enforced (the application role) and bypassed (the maintenance role,
BYPASSRLS), rounds interleaved, against the goal of issue 17 (<= 1.05x).

    python -m bench.rls                      # 3,000 patients a practice, 30 rounds
    python -m bench.rls --patients 10000 --rounds 30
    python -m bench.rls --explain            # where the policies land in the plans, and
                                             # the database's own time for the reads
    python -m bench.rls --function-form      # also the policies as before accounts 0009

One throw-away database (bench_rls_<DATABASE name>), created and dropped here,
holding two practices of the same size (the measured one and a neighbour, so
that the tables hold rows the policies must keep out): sealed patients
(bench.patients._generate), three practitioners with nine appointments a
working day each over --weeks weeks around today, and audit events.

The operations, each in its own `practice_scope()` (its transaction and its
`SET LOCAL` of the practice, as a request's):
- agenda of a busy day and of its week (appointments.selectors.agenda, evaluated);
- patient search by phone (1 hit), by an exact last name (1 hit) and by a common
  last name (up to 50 hits), with the results' summaries decrypted, as the page
  shows them (patients.selectors.patient_search);
- booking (appointments.services.booking.appointment_book: checks, lock, sealing,
  history, audit; committed), on free slots found beforehand, taken in turn;
- audit append (audit.services.record_event).

The connection logs in as DATABASE_URL's user (a superuser: it creates the
database and the roles' grants) and, for each configuration, takes a role with
SET ROLE outside any transaction: `secretariat_app` (row security enforced: the
application's role in production) or `secretariat_maintenance` (BYPASSRLS, and
the application's privileges through membership): the same privileges checked,
only the policies differ. Each round times --repeat calls of every operation
on, then off, back to back (off first in odd rounds). Printed per operation, and
for the seven summed: min/median/max of the rounds' medians (ms), the ratio of
the medians on/off, the median of the rounds' own on/off ratios ("paired") and
the ratio of the minima (the least disturbed by other work on the machine). Both
sides of a pair make the same searches and book for the same patients.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from datetime import time as clock

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secretariat.settings")
os.environ.setdefault("SECRETARIAT_ENV", "test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.dbroles import APP, MAINTENANCE  # noqa: E402
from audit.context import Actor  # noqa: E402
from bench.goals import goal  # noqa: E402

GOAL = 1.05
CONFIGURATIONS = {"on": APP, "off": MAINTENANCE}
# --function-form adds "on, function": the application role with the policies as
# they were before accounts migration 0009 (calling secretariat_practice_id()),
# switched in place between measurements, in the same database and run.
FUNCTION_FORM = "on, function"
_form = {"current": "expression"}
PRACTITIONERS = 3
PER_DAY = 9  # appointments a working day per practitioner
HOURS = [(9, 0), (9, 30), (10, 0), (10, 30), (11, 0), (14, 0), (14, 30), (15, 0), (15, 30)]


def _create_database() -> str:
    settings_dict = connection.settings_dict
    name = f"bench_rls_{settings_dict['NAME']}"
    settings_dict.setdefault("TEST", {})["NAME"] = name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_roles WHERE rolname IN (%s, %s)", [APP, MAINTENANCE]
        )
        if cursor.fetchone()[0] != 2:
            raise SystemExit(
                "bench.rls needs the database roles: run `manage.py db_roles` (or the"
                " test suite once) as a superuser first."
            )
    return name


def _practice(label: str, patients: int, weeks: int, rng: random.Random) -> dict:
    """A practice with its practitioners, agenda, patients and appointments."""
    from accounts import services as account_services
    from accounts.models import User
    from accounts.roles import Role
    from accounts.scoping import practice_scope
    from appointments.models import Appointment, AppointmentType
    from appointments.selectors import practice_zone
    from appointments.services.schedule import agenda_starter_apply
    from bench.patients import _generate
    from patients.models import Patient

    actor = Actor.system("bench")
    practice = account_services.practice_create(
        name=f"Cabinet {label}", slug=f"bench-rls-{label}", actor=actor
    )
    doctors = []
    for number in range(PRACTITIONERS):
        doctor = User.objects.create_user(username=f"dr-{label}-{number}", password=None)
        account_services.membership_grant(
            user=doctor, role=Role.PRACTITIONER, practice=practice, actor=actor, confirmed=True
        )
        doctors.append(doctor)
    phones = _generate(practice, patients, rng)
    zone = practice_zone(practice)
    today = datetime.now(zone).date()
    monday = today - timedelta(days=today.weekday())
    first_day = monday - timedelta(weeks=weeks // 2)
    with practice_scope(practice):
        agenda_starter_apply(practice=practice, actor=actor)
        kind = AppointmentType.objects.filter(practice=practice, name="Consultation").get()
        patient_ids = list(Patient.objects.filter(practice=practice).values_list("pk", flat=True))
        rows = []
        for offset in range(weeks * 7):
            day = first_day + timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            for hour, minute in HOURS[:PER_DAY]:
                begin = datetime.combine(day, clock(hour, minute), tzinfo=zone)
                for doctor in doctors:
                    rows.append(
                        Appointment(
                            practice=practice,
                            practitioner=doctor,
                            patient_id=rng.choice(patient_ids),
                            appointment_type=kind,
                            start=begin,
                            end=begin + timedelta(minutes=kind.duration_minutes),
                            reason_sealed=b"-",
                        )
                    )
        Appointment.objects.bulk_create(rows, batch_size=5000)
    return {
        "practice": practice,
        "doctors": doctors,
        "kind": kind,
        "phones": phones,
        "patient_ids": patient_ids,
        "appointments": len(rows),
        "busy_day": monday,
        "free_from": datetime.combine(
            first_day + timedelta(weeks=weeks + 1), clock(0), tzinfo=zone
        ),
    }


def _audit_events(practice, count: int) -> None:
    from accounts.scoping import practice_scope
    from audit.models import Action, ObjectType
    from audit.services import record_event

    actor = Actor.system("bench", practice=practice)
    for number in range(count):
        with practice_scope(practice):
            record_event(
                actor=actor,
                action=Action.VIEW,
                practice=practice,
                object_type=ObjectType.PATIENT,
                object_id=number,
            )


def _free_slots(world: dict, count: int) -> list:
    from accounts.scoping import practice_scope
    from appointments.slots import find_free_slots

    slots, start, ends = [], world["free_from"], {}
    with practice_scope(world["practice"]):
        while len(slots) < count:
            found = find_free_slots(
                practice=world["practice"],
                appointment_type=world["kind"],
                start_from=start,
                count=min(200, count - len(slots)),
            )
            # Proposals may overlap (a grid finer than the duration): keep
            # those that can all be booked, one after the other.
            for slot in found:
                if slot.start >= ends.get(slot.practitioner_id, slot.start):
                    slots.append(slot)
                    ends[slot.practitioner_id] = slot.end
            start = found[-1].end
    return slots[:count]


def _operations(world: dict, slots: list, rng: random.Random) -> dict:
    from accounts.scoping import practice_scope
    from appointments import selectors as agenda_selectors
    from appointments.services.booking import appointment_book
    from audit.models import Action, ObjectType
    from audit.services import record_event
    from bench.patients import LAST, PLANTED
    from patients import selectors
    from patients.models import Patient

    practice = world["practice"]
    doctors = {doctor.pk: doctor for doctor in world["doctors"]}
    actor = Actor.system("bench", practice=practice)
    day = world["busy_day"] + timedelta(days=2)  # a Wednesday, fully booked
    day_bounds = agenda_selectors.day_bounds(practice, day)
    week_bounds = agenda_selectors.day_bounds(practice, world["busy_day"], days=7)
    free = iter(slots)

    def agenda(bounds):
        def run():
            start, end = bounds
            with practice_scope(practice):
                found = list(agenda_selectors.agenda(practice, start=start, end=end))
            assert found, "the agenda must show appointments"

        return run

    def search(query, expected=None):
        def run():
            with practice_scope(practice):
                found = selectors.patient_search(practice, query())
                if expected is not None:
                    assert len(found.patients) == expected, len(found.patients)
                [selectors.summary(patient) for patient in found.patients]

        return run

    def book():
        slot = next(free)
        with practice_scope(practice):
            # The page reads the patient in its transaction too.
            patient = Patient.objects.get(practice=practice, pk=rng.choice(world["patient_ids"]))
            appointment_book(
                practice=practice,
                practitioner=doctors[slot.practitioner_id],
                patient=patient,
                appointment_type=world["kind"],
                start=slot.start,
                reason="Motif de bench",
                actor=actor,
            )

    def append():
        with practice_scope(practice):
            record_event(
                actor=actor,
                action=Action.VIEW,
                practice=practice,
                object_type=ObjectType.PATIENT,
                object_id=rng.choice(world["patient_ids"]),
            )

    return {
        "agenda, one day": agenda(day_bounds),
        "agenda, one week": agenda(week_bounds),
        "search by phone (1 hit)": search(lambda: "0" + rng.choice(world["phones"])[3:], 1),
        "search exact name (1 hit)": search(lambda: PLANTED[0], 1),
        "search common name (<=50)": search(lambda: rng.choice(LAST)),
        "booking (service, audited)": book,
        "audit append": append,
    }


def _set_role(role: str) -> None:
    # Session level, outside any transaction: every scope's transaction that
    # follows runs as this role (the scopes themselves are the same).
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {role}")


def _enter(label: str) -> None:
    """The configuration's policy form (as the superuser), then its role."""
    form = "function" if label == FUNCTION_FORM else "expression"
    if form != _form["current"]:
        import importlib

        migration = importlib.import_module("accounts.migrations.0009_policy_expression_inline")
        _set_role("NONE")
        with connection.schema_editor() as editor:
            migration._alter(
                editor, migration.FUNCTION if form == "function" else migration.CURRENT
            )
        _form["current"] = form
    _set_role(CONFIGURATIONS[label])


def run(args) -> dict:
    rng = random.Random(17)
    start = time.perf_counter()
    world = _practice("measured", args.patients, args.weeks, rng)
    neighbour = _practice("neighbour", args.patients, args.weeks, rng)
    _audit_events(world["practice"], args.events)
    _audit_events(neighbour["practice"], args.events)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    bookings = args.rounds * len(CONFIGURATIONS) * (args.repeat + 1)
    slots = _free_slots(world, bookings + 10 * len(CONFIGURATIONS))
    print(
        f"2 practices, each {args.patients:,} sealed patients, {PRACTITIONERS} practitioners,"
        f" {world['appointments']:,} appointments over {args.weeks} weeks,"
        f" {args.events:,} audit events; set up in {time.perf_counter() - start:.0f} s"
    )
    operations = _operations(world, slots, rng)
    if args.explain:
        _explain(operations)
    timings = {name: {label: [] for label in CONFIGURATIONS} for name in operations}
    for round_number in range(args.rounds):
        # Each operation on then off (off then on in odd rounds), back to back:
        # a change of load from elsewhere hits both sides of a pair alike.
        order = list(CONFIGURATIONS) if round_number % 2 == 0 else list(CONFIGURATIONS)[::-1]
        for name, operation in operations.items():
            for label in order:
                _enter(label)
                # The same searches and patients on both sides of a pair.
                rng.seed(f"{round_number}:{name}")
                operation()  # warm: the role's first statements
                samples = []
                for _ in range(args.repeat):
                    begin = time.perf_counter()
                    operation()
                    samples.append((time.perf_counter() - begin) * 1e3)
                timings[name][label].append(statistics.median(samples))
    _enter("off")
    _set_role("NONE")
    return timings


def _explain(operations: dict) -> None:
    """How the policies enter the plans. For every operation, as the application
    role: each statement it sent, EXPLAINed in a transaction with its practice
    set, and where the policies' practice condition lands (an index condition,
    a one-time filter, or a filter evaluated on every row read). Then the whole
    plans (EXPLAIN ANALYZE, rolled back) of the agenda and search queries, with
    row security on and bypassed."""
    shown = (
        "agenda, one day",
        "search by phone (1 hit)",
        "search exact name (1 hit)",
        "search common name (<=50)",
    )
    print("\nwhere the policies' practice condition lands, row security on:")
    reads = {}
    for name, operation in operations.items():
        _set_role(APP)
        with CaptureQueriesContext(connection) as captured:
            operation()
        practice_id, places = None, {"index": 0, "once": 0, "per row": 0, "initplan": 0}
        per_row = []
        for sql in (query["sql"] for query in captured.captured_queries):
            if "set_config" in sql:
                practice_id = practice_id or _practice_of(sql)
                continue
            if sql.split(None, 1)[0].upper() not in ("SELECT", "WITH", "INSERT", "UPDATE"):
                continue
            if sql.startswith("SELECT"):
                reads.setdefault(name, (practice_id, []))[1].append(sql)
            for line in _plan(sql, practice_id, analyze=False):
                place = _place(line)
                if place:
                    places[place] += 1
                if place == "per row":
                    per_row.append(line.strip())
        print(f"  {name:<28}" + ", ".join(f"{k} {v}" for k, v in places.items()))
        for line in dict.fromkeys(per_row):
            print(f"      per row: {line[:150]}")
    _database_time(reads)
    _enter("on")
    for name in shown:
        for label, role in CONFIGURATIONS.items():
            _enter(label)
            with CaptureQueriesContext(connection) as captured:
                operations[name]()
            practice_id = None
            for sql in (query["sql"] for query in captured.captured_queries):
                if "set_config" in sql:
                    practice_id = practice_id or _practice_of(sql)
                    continue
                if not sql.startswith("SELECT") or "patients_practicekey" in sql:
                    continue
                plan = "\n".join(f"    {line}" for line in _plan(sql, practice_id, analyze=True))
                print(f"\n-- {name}, row security {label} ({role}):\n    {sql[:160]}…\n{plan}")
    _set_role("NONE")
    print()


def _database_time(reads: dict, repeat: int = 20) -> None:
    """The database's own time for each operation's reads (its SELECT
    statements, replayed: planning and execution as EXPLAIN ANALYZE reports
    them, summed), with row security on and bypassed: the policies' cost without
    the client, the network or the machine's other work in it."""
    from accounts.scoping import PRACTICE_SETTING

    times = {name: {label: [] for label in CONFIGURATIONS} for name in reads}
    for number in range(repeat):
        order = list(CONFIGURATIONS) if number % 2 == 0 else list(CONFIGURATIONS)[::-1]
        for label in order:
            _enter(label)
            for name, (practice_id, statements) in reads.items():
                planning = execution = 0.0
                with connection.cursor() as cursor:
                    cursor.execute("BEGIN")
                    cursor.execute(
                        "SELECT set_config(%s, %s, true)", [PRACTICE_SETTING, practice_id]
                    )
                    for sql in statements:
                        cursor.execute(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}")
                        plan = cursor.fetchone()[0][0]
                        planning += plan["Planning Time"] * 1e3
                        execution += plan["Execution Time"] * 1e3
                    cursor.execute("ROLLBACK")
                times[name][label].append((planning, execution))
    _set_role("NONE")
    print(
        f"\ndatabase time of each operation's reads, µs (planning + execution, median of {repeat}):"
    )
    labels = list(CONFIGURATIONS)
    print(
        f"{'operation':<28}{'reads':>6}"
        + "".join(f"{label:>22}" for label in labels)
        + "".join(f"{label + '/off':>20}" for label in labels if label != "off")
    )
    for name, by_label in times.items():
        cells, totals = [], {}
        for label in labels:
            planning = statistics.median(p for p, _ in by_label[label])
            execution = statistics.median(e for _, e in by_label[label])
            cells.append(f"{planning:.0f} + {execution:.0f}")
            totals[label] = statistics.median(p + e for p, e in by_label[label])
        ratios = [totals[label] / totals["off"] for label in labels if label != "off"]
        print(
            f"{name:<28}{len(reads[name][1]):>6}"
            + "".join(f"{cell:>22}" for cell in cells)
            + "".join(f"{ratio:>19.2f}x" for ratio in ratios)
        )


def _plan(sql: str, practice_id: str | None, analyze: bool) -> list[str]:
    from accounts.scoping import PRACTICE_SETTING

    options = "ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF" if analyze else "COSTS OFF"
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        try:
            cursor.execute("SELECT set_config(%s, %s, true)", [PRACTICE_SETTING, practice_id])
            cursor.execute(f"EXPLAIN ({options}) {sql}")
            return [line for (line,) in cursor.fetchall()]
        finally:
            cursor.execute("ROLLBACK")


def _place(line: str) -> str | None:
    """Where a plan line evaluates the practice setting, if it does."""
    if "InitPlan" in line:
        return "initplan"
    if "current_setting" not in line:
        return None
    if "One-Time Filter" in line:
        return "once"
    if "Index Cond" in line or "Recheck Cond" in line:
        return "index"
    return "per row"


def _practice_of(sql: str) -> str:
    # The scope's statement: set_config('secretariat.practice_id', '<id>', true).
    return sql.split("'")[-2]


def _print(timings: dict, args) -> None:
    rows = dict(timings)
    # The seven together, as one mix of requests: each round's medians summed.
    rows["all seven, summed"] = {
        label: [sum(values) for values in zip(*(t[label] for t in timings.values()), strict=True)]
        for label in CONFIGURATIONS
    }
    print(
        f"\n{args.rounds} rounds, {args.repeat} calls per operation and configuration a round,"
        " the configurations back to back; ms, min/median/max of the rounds' medians;"
        f" goal on/off <= {GOAL:.2f}x"
    )
    ratios = {}
    for label in (label for label in CONFIGURATIONS if label != "off"):
        title = "row security " + label
        print(f"\n{'operation':<28}{title:>28}{'bypassed':>24}   on/off   paired     mins")
        for name, by_label in rows.items():
            on, off = by_label[label], by_label["off"]
            cells = [f"{min(t):.2f}/{statistics.median(t):.2f}/{max(t):.2f}" for t in (on, off)]
            ratio = statistics.median(on) / statistics.median(off)
            paired = statistics.median(a / b for a, b in zip(on, off, strict=True))
            best = min(on) / min(off)
            print(
                f"{name:<28}{cells[0]:>28}{cells[1]:>24}"
                f"   {ratio:5.2f}x   {paired:5.2f}x   {best:5.2f}x"
            )
            if label == "on":
                ratios[name] = ratio
    for name, ratio in ratios.items():
        goal(
            issue="17",
            figure=f"row security on / bypassed, {name}, medians of {args.rounds} rounds",
            measured=ratio,
            unit="x",
            target=GOAL,
            better="lower",
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=3000, help="a practice")
    parser.add_argument("--weeks", type=int, default=12, help="of appointments")
    parser.add_argument("--events", type=int, default=1000, help="audit events a practice")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument(
        "--function-form",
        action="store_true",
        help="also the policies as before accounts migration 0009 (calling the function)",
    )
    args = parser.parse_args()
    if args.function_form:
        CONFIGURATIONS[FUNCTION_FORM] = APP
    base = connection.settings_dict["NAME"]
    _create_database()
    try:
        timings = run(args)
        _print(timings, args)
    finally:
        connection.close()
        connection.creation.destroy_test_db(base, verbosity=0)
    # The figures are the output; a missed goal is a finding, not a failure.
    return 0


if __name__ == "__main__":
    sys.exit(main())
