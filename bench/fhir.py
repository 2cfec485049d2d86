"""FHIR API benchmark: `Patient?telecom=` and `Slot?` server time at two
practice sizes, through the whole middleware stack and the bearer-token check
(Django's test client, in process: server time, no network).

    python -m bench.fhir            # 10k vs 100k patients (a few minutes)
    python -m bench.fhir --full     # 10k vs 1M patients

Issue 15's targets: the large practice within 1.2x of the small one, p95 under
100 ms at 1M. Each size in its own throw-away database (the small practice on small
indexes), rounds interleaved; ratios against this run's baseline.
"""

import argparse
import os
import random
import statistics
import time
from datetime import time as clock

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secretariat.settings")
os.environ.setdefault("SECRETARIAT_ENV", "test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from bench.goals import goal  # noqa: E402
from bench.patients import Databases, _generate  # noqa: E402


def _samples(fn, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def _practice(label: str, size: int, rng: random.Random):
    """A practice of `size` patients, a practitioner working weekdays, a type
    and an API client's credentials (all scopes)."""
    from accounts.models import Practice, User
    from accounts.roles import Role
    from accounts.scoping import practice_scope
    from accounts.services import membership_grant
    from appointments.models import AppointmentType, WorkingHours
    from audit.context import Actor
    from fhir_api import services
    from fhir_api.scopes import SCOPES

    practice = Practice.objects.create(
        name=f"Bench {label}", slug=f"bench-fhir-{label}", status=Practice.Status.ACTIVE
    )
    phones = _generate(practice, size, rng)
    doctor = User.objects.create(username=f"dr-{label}", last_name="Martin")
    actor = Actor.system("bench")
    membership_grant(
        user=doctor, role=Role.PRACTITIONER, practice=practice, actor=actor, confirmed=True
    )
    with practice_scope(practice):
        for weekday in range(5):
            for start, end in ((clock(9), clock(12)), (clock(14), clock(18))):
                WorkingHours.objects.create(
                    practice=practice,
                    practitioner=doctor,
                    weekday=weekday,
                    start_time=start,
                    end_time=end,
                )
        kind = AppointmentType.objects.create(practice=practice, name="Consultation")
    api_client, secret = services.api_client_register(
        practice=practice, name="bench", scopes=sorted(SCOPES), actor=actor
    )
    return (api_client.client_id, secret), phones, kind


def _client(credentials: tuple[str, str]):
    """A client holding a fresh token (tokens live 5 minutes: generating the
    large practice takes longer)."""
    from django.test import Client

    client_id, secret = credentials
    response = Client().post(
        "/fhir/auth/token",
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert response.status_code == 200, response.status_code
    return Client(HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}")


def run(small: int, large: int, repeat: int, databases: Databases) -> None:
    from django.conf import settings

    settings.FHIR_API_RATE = "1000000/s"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    rng = random.Random(15)
    setups = {}
    for label, size in (("small", small), ("large", large)):
        databases.create(label)
        start = time.perf_counter()
        setups[label] = _practice(label, size, rng)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"practice of {size:>9,} patients ready in {time.perf_counter() - start:6.1f} s")

    def by_phone(client, phones, kind):
        national = "0" + rng.choice(phones)[3:]
        response = client.get("/fhir/Patient", {"telecom": national})
        assert response.status_code == 200 and len(response.json()["entry"]) == 1, (
            response.status_code,
            response.content[:300],
        )

    def slots(client, phones, kind):
        response = client.get("/fhir/Slot", {"service-type": str(kind.pk), "_count": "20"})
        assert response.status_code == 200 and len(response.json()["entry"]) == 20

    requests = (
        ("Patient?telecom=", by_phone, False),
        ("Slot? (20 slots)", slots, False),
        ("Slot?, validated", slots, True),
    )
    for label, (credentials, phones, kind) in setups.items():
        databases.use(label)
        setups[label] = (_client(credentials), phones, kind)
    # Rounds interleaved (small, large, small, ...): load from elsewhere hits both.
    timings = {title: {"small": [], "large": []} for title, _fn, _valid in requests}
    for title, fn, validated in requests:
        settings.FHIR_VALIDATE_RESPONSES = validated  # off is production's default
        for _round in range(max(1, repeat // 10)):
            for label in ("small", "large"):
                databases.use(label)
                fn(*setups[label])  # warm: keys unwrapped after a switch
                for _ in range(10):
                    begin = time.perf_counter()
                    fn(*setups[label])
                    timings[title][label].append(time.perf_counter() - begin)
    settings.FHIR_VALIDATE_RESPONSES = True

    print()
    print(f"separate databases; min/median/max ms of {repeat} requests, rounds interleaved")
    print("goal: large within 1.2x of small, p95 under 100 ms at 1M")
    print(f"{'request':<20}{small:>22,}{large:>22,}   ratio   p95 large")
    figures = {}
    for title, by_size in timings.items():
        cells = [
            f"{min(t) * 1e3:.2f}/{statistics.median(t) * 1e3:.2f}/{max(t) * 1e3:.2f}"
            for t in (by_size["small"], by_size["large"])
        ]
        ratio = statistics.median(by_size["large"]) / statistics.median(by_size["small"])
        p95 = _p95(by_size["large"]) * 1e3
        print(f"{title:<20}{cells[0]:>22}{cells[1]:>22}   {ratio:5.2f}x   {p95:7.2f} ms")
        figures[title] = (ratio, p95)
    for title, _fn, validated in requests:
        if validated:  # FHIR_VALIDATE_RESPONSES is off in production: no goal
            continue
        ratio, p95 = figures[title]
        goal(
            issue="15",
            figure=f"FHIR {title}, {large:,} vs {small:,} patients, medians",
            measured=ratio,
            unit="x",
            target=1.2,
            better="lower",
        )
        goal(
            issue="15",
            figure=f"FHIR {title}, p95 at {large:,} patients",
            measured=p95,
            unit="ms",
            target=100,
            better="lower",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="10k vs 1M patients")
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    large = args.large or (1_000_000 if args.full else 100_000)
    databases = Databases(connection.settings_dict["NAME"])
    try:
        run(args.small, large, args.repeat, databases)
    finally:
        databases.drop_all()


if __name__ == "__main__":
    main()
