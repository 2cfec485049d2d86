"""Migration benchmark (issue 18 item 7): the time `manage.py migrate` takes to
apply the latest migrations to a database holding 10 practices against one
holding 100 (`--full`: 1,000), each size in its own throw-away database.

    python -m bench.migrations              # 10 vs 100 practices, last 2 of each app (~3 min)
    python -m bench.migrations --full       # 10 vs 1,000 practices (the issue's sizes)
    python -m bench.migrations --back 4 --rounds 5

"From zero" cannot hold data (the tables do not exist yet), so what is timed
is a release's upgrade: every app's last `--back` migrations are unapplied
(untimed; with whatever they cascade to in other apps), then `migrate` applies
them again (timed, the command as a deployment runs it, post_migrate handlers
included). Each practice holds the same small data: a practitioner and a
telesecretary (memberships through the services), the starter agenda, 3
patients (`patient_create`, sealed and audited) and 10 appointments (sealed
reasons), with the audit events all of that writes.

Rounds are interleaved (each round: unapply and re-apply on the small, then
the large database); min/median/max seconds, the ratio large / small, and the
median time of each migration (from `migrate -v 2`) at both sizes, slowest
first. Creating each database (`migrate` from zero on an empty database) is
timed too, as a reference.
"""

import argparse
import io
import os
import re
import statistics
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secretariat.settings")
os.environ.setdefault("SECRETARIAT_ENV", "test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.migrations.executor import MigrationExecutor  # noqa: E402

from audit.context import Actor  # noqa: E402
from bench.patients import Databases  # noqa: E402

PATIENTS = 3
APPOINTMENTS = 10
_APPLIED = re.compile(r"Applying (\S+)\.\.\. OK \((\d+\.\d+)s\)")


def _populate(count: int) -> float:
    """`count` practices of the same small data; returns seconds taken."""
    from accounts import services as account_services
    from accounts.models import User
    from accounts.roles import Role
    from accounts.scoping import practice_scope
    from appointments.models import Appointment, AppointmentType
    from appointments.selectors import practice_zone
    from appointments.services.schedule import agenda_starter_apply
    from patients.services import Identity, patient_create

    actor = Actor.system("bench")
    start = time.perf_counter()
    for number in range(count):
        practice = account_services.practice_create(
            name=f"Cabinet {number}", slug=f"bench-migrations-{number}", actor=actor
        )
        doctor = User.objects.create_user(username=f"dr-{number}", password=None)
        account_services.membership_grant(
            user=doctor, role=Role.PRACTITIONER, practice=practice, actor=actor, confirmed=True
        )
        telesecretary = User.objects.create_user(username=f"tele-{number}", password=None)
        account_services.membership_grant(
            user=telesecretary,
            role=Role.TELESECRETARY,
            practice=practice,
            actor=actor,
            confirmed=True,
        )
        with practice_scope(practice):
            agenda_starter_apply(practice=practice, actor=actor)
            kind = AppointmentType.objects.filter(practice=practice, is_default=True).first()
            patients = [
                patient_create(
                    practice=practice,
                    identity=Identity(
                        last_name=f"Patient{n}",
                        first_names="Camille",
                        birth_date=date(1970, 1, 1) + timedelta(days=n),
                        phone=f"+3361234{n:04d}",
                    ),
                    actor=actor,
                )
                for n in range(PATIENTS)
            ]
            zone = practice_zone(practice)
            monday = date(2026, 1, 5)
            rows = []
            for n in range(APPOINTMENTS):
                begin = datetime.combine(monday + timedelta(days=n), clock(9), tzinfo=zone)
                row = Appointment(
                    practice=practice,
                    practitioner=doctor,
                    patient=patients[n % PATIENTS],
                    appointment_type=kind,
                    start=begin,
                    end=begin + timedelta(minutes=20),
                )
                row.write({"reason": "Renouvellement d'ordonnance"})
                rows.append(row)
            Appointment.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - start


def _targets(back: int) -> list[tuple[str, str]]:
    """Each project app's migration `back` steps before its latest (apps with
    fewer migrations are left alone: unapplying them all would drop the data)."""
    executor = MigrationExecutor(connection)
    graph = executor.loader.graph
    targets = []
    for app_config in django.apps.apps.get_app_configs():
        if Path(app_config.path).parent != Path(settings.BASE_DIR):
            continue  # a dependency's app (the virtualenv lives under BASE_DIR too)
        leaves = graph.leaf_nodes(app_config.label)
        if not leaves:
            continue
        own = [node for node in graph.forwards_plan(leaves[0]) if node[0] == app_config.label]
        if len(own) > back:
            targets.append(own[-back - 1])
    return targets


def _unapply(targets: list[tuple[str, str]]) -> list[str]:
    """Unapplies down to the targets; returns the migrations unapplied."""
    unapplied = []
    for target in targets:  # one at a time: each plan only goes backwards
        executor = MigrationExecutor(connection)
        if target not in executor.loader.applied_migrations:
            continue  # already unapplied with another app's (a dependency)
        plan = executor.migration_plan([target])
        assert all(backwards for _migration, backwards in plan), target
        executor.migrate([target], plan=plan)
        unapplied += [f"{migration.app_label}.{migration.name}" for migration, _b in plan]
    return unapplied


def _migrate() -> tuple[float, dict[str, float]]:
    """`migrate` as a deployment runs it: total seconds and each migration's."""
    out = io.StringIO()
    start = time.perf_counter()
    call_command("migrate", verbosity=2, interactive=False, no_color=True, stdout=out)
    total = time.perf_counter() - start
    return total, {name: float(seconds) for name, seconds in _APPLIED.findall(out.getvalue())}


def run(small: int, large: int, back: int, rounds: int) -> None:
    databases = Databases(connection.settings_dict["NAME"])
    sizes = {f"{small} practices": small, f"{large} practices": large}
    totals = {label: [] for label in sizes}
    steps: dict[str, dict[str, list[float]]] = {label: {} for label in sizes}
    unapplied: list[str] = []
    try:
        for label, count in sizes.items():
            start = time.perf_counter()
            databases.create(f"migrations_{count}")
            created = time.perf_counter() - start
            filled = _populate(count)
            print(
                f"{label:>16}: database created (migrate from zero, empty) in {created:5.1f} s,"
                f" populated in {filled:5.1f} s",
                flush=True,
            )
        targets = _targets(back)
        for _round in range(rounds):
            for label, count in sizes.items():
                databases.use(f"migrations_{count}")
                unapplied = _unapply(targets)
                total, each = _migrate()
                assert set(each) == set(unapplied), (sorted(each), sorted(unapplied))
                totals[label].append(total)
                for name, seconds in each.items():
                    steps[label].setdefault(name, []).append(seconds)
    finally:
        databases.drop_all()

    low, high = sizes
    print()
    print(
        f"migrate re-applying {len(unapplied)} migrations (each app's last {back}, and what"
        f" they cascade to); seconds, min/median/max of {rounds} interleaved rounds"
    )
    for label in sizes:
        cells = totals[label]
        print(
            f"  {label:>16}: {min(cells):6.2f} / {statistics.median(cells):6.2f} /"
            f" {max(cells):6.2f} s"
        )
    ratio = statistics.median(totals[high]) / statistics.median(totals[low])
    print(f"  ratio {high} / {low}: {ratio:.2f}x (practices x{large / small:.0f})")
    print()
    print(f"each migration, median seconds ({low} / {high}), slowest at {high} first:")
    order = sorted(steps[high], key=lambda name: -statistics.median(steps[high][name]))
    for name in order:
        a = statistics.median(steps[low][name])
        b = statistics.median(steps[high][name])
        print(f"  {name:<58}{a:7.3f}{b:8.3f}   {b / a if a else 0:5.2f}x")
    for label in sizes:
        outside = statistics.median(totals[label]) - sum(
            statistics.median(samples) for samples in steps[label].values()
        )
        print(f"  outside the migrations at {label} (plan, checks, post_migrate): {outside:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="10 vs 1,000 practices")
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=None)
    parser.add_argument("--back", type=int, default=2, help="migrations unapplied per app")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    large = args.large or (1000 if args.full else 100)
    run(args.small, large, args.back, args.rounds)


if __name__ == "__main__":
    main()
