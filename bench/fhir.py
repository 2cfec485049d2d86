"""FHIR API benchmark: `Patient?telecom=` and `Slot?` server time at two
practice sizes, through the whole middleware stack and the bearer-token check
(Django's test client, in process: server time, no network).

    python -m bench.fhir            # 10k vs 100k patients (a few minutes)
    python -m bench.fhir --full     # 10k vs 1M patients

Issue 15's targets: the large practice within 1.2x of the small one, p95 under
100 ms at 1M. Runs in a throw-away database; ratios against this run's baseline.
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

from bench.patients import _generate  # noqa: E402


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
    and an API client's token (all scopes)."""
    from django.test import Client

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
    response = Client().post(
        "/fhir/auth/token",
        {
            "grant_type": "client_credentials",
            "client_id": api_client.client_id,
            "client_secret": secret,
        },
    )
    assert response.status_code == 200, response.status_code
    token = response.json()["access_token"]
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}"), phones, kind


def run(small: int, large: int, repeat: int) -> None:
    from django.conf import settings

    settings.FHIR_API_RATE = "1000000/s"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    rng = random.Random(15)
    setups = {}
    for label, size in (("small", small), ("large", large)):
        start = time.perf_counter()
        setups[label] = _practice(label, size, rng)
        print(f"practice of {size:>9,} patients ready in {time.perf_counter() - start:6.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    results = {}
    for label, (client, phones, kind) in setups.items():

        def by_phone(client=client, phones=phones):
            national = "0" + rng.choice(phones)[3:]
            response = client.get("/fhir/Patient", {"telecom": national})
            assert response.status_code == 200 and len(response.json()["entry"]) == 1

        def slots(client=client, kind=kind):
            response = client.get("/fhir/Slot", {"service-type": str(kind.pk), "_count": "20"})
            assert response.status_code == 200 and len(response.json()["entry"]) == 20

        by_phone(), slots()  # warm-up: keys unwrapped, connections open
        settings.FHIR_VALIDATE_RESPONSES = False  # production's default
        results[label] = {"telecom": _samples(by_phone, repeat), "slot": _samples(slots, repeat)}
        settings.FHIR_VALIDATE_RESPONSES = True
        results[label]["slot_validated"] = _samples(slots, repeat)

    print()
    print(
        f"{'request':<22}{'median ' + f'{small:,}':>16}{'median ' + f'{large:,}':>18}"
        f"{'ratio':>8}{'p95 large':>12}"
    )
    rows = (
        ("telecom", "Patient?telecom="),
        ("slot", "Slot? (20 slots)"),
        ("slot_validated", "Slot?, validated"),
    )
    for kind, title in rows:
        a = statistics.median(results["small"][kind])
        b = statistics.median(results["large"][kind])
        p95 = _p95(results["large"][kind])
        print(f"{title:<22}{a * 1e3:>14.2f}ms{b * 1e3:>16.2f}ms{b / a:>7.2f}x{p95 * 1e3:>10.2f}ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="10k vs 1M patients")
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    large = args.large or (1_000_000 if args.full else 100_000)
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{old_name}_bench_fhir"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        run(args.small, large, args.repeat)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
