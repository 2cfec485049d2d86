"""Agenda benchmark (issue 18 item 7): the real agenda pages, with a week of
appointments against three years, each size in its own throw-away database.

    python -m bench.agenda                  # 5 practitioners, 1 week vs 3 years (~2 min)
    python -m bench.agenda --full           # 20 practitioners
    python -m bench.agenda --history-days 365 --rounds 10

The pages are the application's own, requested through Django's test client
(the whole middleware stack, the view, its template and its audit write):

- the practice's day (`appointments:practice_day`) as a telesecretary;
- the practitioner's week (`appointments:my_week`) as that practitioner (the
  week view is a practitioner's own agenda; a telesecretary sees the practice's
  day).

Each user holds a verified session (password and OTP steps passed, the charter
accepted), made as bench.booking makes it.

The plaintext twin of each page is the same request through the same view,
queries, template and audit write, with one thing changed: the patient's label
is built from the lengths of the sealed name columns instead of decrypting
them (`appointments.views.agenda.patient_label` swapped for the request). The
twin decrypts nothing; the bench checks it in the `Server-Timing` header
(`decrypt;desc="0 fields"`), so the difference is what decryption costs the
page.

Rounds are interleaved (each round: both sizes, real and twin, both pages),
min/median/max ms over the rounds; ratios: 3 years / 1 week (goal <= 1.2x) and
real / twin. The `Server-Timing` header's figures (db time and queries,
fields decrypted, server total) are printed too, medians over the same requests.
"""

import argparse
import os
import random
import re
import statistics
import time
import uuid
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from datetime import time as clock

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secretariat.settings")
os.environ.setdefault("SECRETARIAT_ENV", "test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from audit.context import Actor  # noqa: E402
from bench.booking import _session_for  # noqa: E402
from bench.goals import goal  # noqa: E402
from bench.patients import Databases, _generate  # noqa: E402

PATIENTS = 200  # per practice: the agenda's rows name different patients
PER_DAY = 6  # appointments a working day, per practitioner
_TIMING = re.compile(
    r'db;dur=([\d.]+);desc="(\d+) queries", decrypt;desc="(\d+) fields", total;dur=([\d.]+)'
)


@contextmanager
def plaintext_labels(views=None):
    """The twin: the page (the agenda's by default; `views`, the module whose
    `patient_label` the page calls) shows the sealed names' lengths, decrypting
    none."""
    if views is None:
        from appointments.views import agenda as views

    real = views.patient_label

    def label(patient) -> str:
        return f"{len(patient.last_name_sealed)} {len(patient.first_names_sealed)}"

    views.patient_label = label
    try:
        yield
    finally:
        views.patient_label = real


def _working_day(today: date) -> date:
    """Today, or the Friday before on a weekend: a day with appointments."""
    return today - timedelta(days=max(0, today.weekday() - 4))


def _world(
    label: str, practitioners: int, days: int, rng: random.Random, patient_count: int = PATIENTS
) -> dict:
    """A practice of `practitioners` practitioners with `days` days of
    appointments ending a week from today, `patient_count` patients (bench.patients'
    planted one first), a telesecretary, and the two pages' clients (verified
    sessions); bench.pages adds its pages to it."""
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from accounts import services as account_services
    from accounts.models import ConfidentialityAgreement, User
    from accounts.roles import Role
    from accounts.scoping import practice_scope
    from appointments.models import Appointment, AppointmentType
    from appointments.selectors import practice_zone
    from patients.models import Patient

    actor = Actor.system("bench")
    practice = account_services.practice_create(
        name=f"Cabinet {label}", slug=f"bench-agenda-{uuid.uuid4().hex[:6]}", actor=actor
    )
    agreement, _ = ConfidentialityAgreement.objects.get_or_create(
        version=1, defaults={"title": "Charte", "text": "Texte"}
    )

    def member(username: str, role: str, last_name: str = "") -> "User":
        user = User.objects.create_user(username=username, password=None, last_name=last_name)
        account_services.membership_grant(
            user=user, role=role, practice=practice, actor=actor, confirmed=True
        )
        user.acceptances.get_or_create(agreement=agreement)
        return user

    doctors = [
        member(f"dr-{label}-{n}", Role.PRACTITIONER, f"Docteur{n}") for n in range(practitioners)
    ]
    telesecretary = member(f"tele-{label}", Role.TELESECRETARY)
    _generate(practice, patient_count - 1, rng)  # and the planted one
    zone = practice_zone(practice)
    today = timezone.now().astimezone(zone).date()
    first = today - timedelta(days=days - 7)  # the history is past; next week is booked too
    hours = [(9, 0), (9, 30), (10, 0), (10, 30), (11, 0), (14, 0), (14, 30), (15, 0), (15, 30)]
    with practice_scope(practice):
        patients = list(Patient.objects.filter(practice=practice).values_list("pk", flat=True))
        kind = AppointmentType.objects.create(practice=practice, name="Consultation")
        rows = []
        for offset in range(days):
            day = first + timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            for hour, minute in hours[:PER_DAY]:
                begin = datetime.combine(day, clock(hour, minute), tzinfo=zone)
                for doctor in doctors:
                    row = Appointment(
                        practice=practice,
                        practitioner=doctor,
                        patient_id=rng.choice(patients),
                        appointment_type=kind,
                        start=begin,
                        end=begin + timedelta(minutes=20),
                    )
                    row.write({"reason": "Renouvellement d'ordonnance"})
                    rows.append(row)
            if len(rows) >= 5000:
                Appointment.objects.bulk_create(rows)
                rows = []
        Appointment.objects.bulk_create(rows)
        count = Appointment.objects.filter(practice=practice).count()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE appointments_appointment")

    def client(user) -> Client:
        browser = Client()
        browser.cookies[settings.SESSION_COOKIE_NAME] = _session_for(user)
        return browser

    day = _working_day(today).isoformat()
    return {
        "count": count,
        "practice": practice,
        "kind": kind,
        "telesecretary": telesecretary,
        "pages": {
            "practice day (telesecretary)": (
                client(telesecretary),
                reverse("appointments:practice_day", args=[practice.slug]),
                {"date": day},
            ),
            "practitioner week (practitioner)": (
                client(doctors[0]),
                reverse("appointments:my_week", args=[practice.slug]),
                {"date": day},
            ),
        },
    }


def _get(page, twin: bool):
    browser, path, query = page
    if twin:
        with plaintext_labels():
            response = browser.get(path, query)
    else:
        response = browser.get(path, query)
    assert response.status_code == 200, (path, response.status_code)
    db, queries, decrypted, total = _TIMING.fullmatch(response["Server-Timing"]).groups()
    # The twin must decrypt nothing, the real page must decrypt its names.
    assert (int(decrypted) == 0) == twin, (path, twin, decrypted)
    return float(db), int(queries), int(decrypted), float(total)


def _cells(samples: list[float]) -> str:
    return f"{min(samples):.1f}/{statistics.median(samples):.1f}/{max(samples):.1f}"


def header_medians(names, sizes, headers) -> dict:
    """Print the `Server-Timing` figures of each page, size and variant (real,
    twin), medians over the same requests, and return them: {(page, size,
    twin): (db ms, queries, fields decrypted, total ms)}. bench.pages too."""
    print(
        "Server-Timing header, median over the same requests: time in the database (ms) and"
        " queries, fields decrypted, server total (ms)"
    )
    width, size_width = max(map(len, names)) + 2, max(map(len, sizes))
    medians = {}
    for page in names:
        for label in sizes:
            for twin in (False, True):
                figures = headers[page, label, twin]
                medians[page, label, twin] = db, queries, decrypted, total = tuple(
                    statistics.median(column) for column in zip(*figures, strict=True)
                )
                print(
                    f"  {page:<{width}}{label:>{size_width}} {'twin' if twin else 'real'}:"
                    f" db {db:6.1f} ms, {queries:.0f} queries, {decrypted:3.0f} fields decrypted,"
                    f" total {total:6.1f} ms"
                )
    return medians


def run(practitioners: int, history_days: int, rounds: int, per_switch: int) -> None:
    settings.SERVER_TIMING = True  # the header the bench reads (secretariat/timing.py)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    rng = random.Random(18)
    databases = Databases(connection.settings_dict["NAME"])
    sizes = {"1 week": 7, f"{history_days} days": history_days}
    worlds = {}
    try:
        for label, days in sizes.items():
            start = time.perf_counter()
            databases.create(f"agenda_{days}")
            worlds[label] = _world(f"d{days}", practitioners, days, rng)
            ready = time.perf_counter() - start
            print(
                f"{label:>10}: {worlds[label]['count']:>7,} appointments, {practitioners}"
                f" practitioners, {PATIENTS} patients; ready in {ready:.0f} s",
                flush=True,
            )
        names = list(worlds["1 week"]["pages"])
        timings = {
            (page, label, twin): [] for page in names for label in sizes for twin in (False, True)
        }
        headers = {}
        for number in range(rounds):
            for label, days in sizes.items():
                databases.use(f"agenda_{days}")
                for page in names:
                    target = worlds[label]["pages"][page]
                    _get(target, twin=False)  # warm: the connection and the keys after a switch
                    for _ in range(per_switch):
                        # Real and twin alternate, in an order that changes each round.
                        for twin in (False, True) if number % 2 else (True, False):
                            begin = time.perf_counter()
                            header = _get(target, twin)
                            timings[page, label, twin].append((time.perf_counter() - begin) * 1e3)
                            headers.setdefault((page, label, twin), []).append(header)
    finally:
        databases.drop_all()

    small, large = sizes
    samples = rounds * per_switch
    print()
    print(
        f"{practitioners} practitioners; ms per request through the test client (view, template,"
        f" audit write); min/median/max of {samples} requests in {rounds} interleaved rounds"
    )
    print(f"{'page':<34}{'':<7}{small:>20}{large:>20}  {large} / {small}")
    ratios = {}
    for page in names:
        for twin in (False, True):
            low = timings[page, small, twin]
            high = timings[page, large, twin]
            ratio = statistics.median(high) / statistics.median(low)
            print(
                f"{page:<34}{'twin' if twin else 'real':<7}{_cells(low):>20}{_cells(high):>20}"
                f"  {ratio:5.2f}x{'  (goal <= 1.2x)' if not twin else ''}"
            )
            if not twin:
                ratios[page] = ratio
        for label in sizes:
            real = statistics.median(timings[page, label, False])
            plain = statistics.median(timings[page, label, True])
            print(f"{'':<34}real / twin at {label}: {real / plain:5.2f}x")
    print()
    medians = header_medians(names, sizes, headers)
    for page in names:
        goal(
            issue="18.4",
            figure=f"{page}, real page, {large} vs {small}, medians",
            measured=ratios[page],
            unit="x",
            target=1.2,
            better="lower",
        )
        goal(
            issue="18.1",
            figure=f"{page}, queries (Server-Timing), {large}",
            measured=medians[page, large, False][1],
            unit="queries",
            target=12,
            better="lower",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="20 practitioners")
    parser.add_argument("--practitioners", type=int, default=None)
    parser.add_argument("--history-days", type=int, default=3 * 365)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--per-switch", type=int, default=5, help="requests of each kind per database switch"
    )
    args = parser.parse_args()
    practitioners = args.practitioners or (20 if args.full else 5)
    run(practitioners, args.history_days, args.rounds, args.per_switch)


if __name__ == "__main__":
    main()
