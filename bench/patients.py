"""Patients benchmark: blind-index searches (phone, exact name, "nom prénom",
a common name, a 3-letter prefix) at two table sizes, each in its own database;
the card's decryption against the same fetch without it; per-field crypto costs.

    python -m bench.patients            # 10k vs 100k patients (a few minutes)
    python -m bench.patients --full     # 10k vs 1M patients (the issue's sizes)

Runs in throw-away test databases (created and dropped here), never in the
application's own database. Ratios are against baselines measured in this run.
"""

import argparse
import hashlib
import hmac
import os
import random
import statistics
import time
from datetime import date, timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secretariat.settings")
os.environ.setdefault("SECRETARIAT_ENV", "test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from bench.goals import goal  # noqa: E402

LAST = [
    "Martin",
    "Bernard",
    "Thomas",
    "Petit",
    "Robert",
    "Richard",
    "Durand",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefèvre",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Morel",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Muller",
    "Lefebvre",
    "Faure",
    "André",
    "Mercier",
    "Blanc",
    "Guérin",
    "Boyer",
    "Garnier",
    "Chevalier",
    "François",
    "Legrand",
    "Gauthier",
    "Garcia",
    "Perrin",
    "Robin",
    "Clément",
    "Morin",
    "Nicolas",
    "Henry",
    "Roussel",
    "Mathieu",
    "Gautier",
    "Masson",
]
FIRST = [
    "Jean",
    "Marie",
    "Pierre",
    "Camille",
    "Louis",
    "Léa",
    "Hugo",
    "Chloé",
    "Lucas",
    "Emma",
    "Jules",
    "Inès",
    "Nathan",
    "Manon",
    "Théo",
    "Sarah",
    "Paul",
    "Zoé",
    "Élodie",
    "Thomas",
]


def _timed(fn, repeat: int) -> float:
    """Median seconds per call."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


# A patient planted at both sizes, with a name no generated patient has: the
# exact-name searches then return one row at both sizes (the same decryption
# work), so the ratio is the lookup's alone.
PLANTED = ("Zarkozian", "Anatole", date(1977, 3, 9), "+33799999999")


def identity(rng: random.Random, phone: str):
    """A generated identity (the names drawn from rng) with this phone."""
    from patients.services import Identity

    # Suffixes make last names varied enough for realistic prefix buckets.
    return Identity(
        last_name=rng.choice(LAST) + rng.choice(["", "", "-" + rng.choice(LAST)]),
        first_names=rng.choice(FIRST),
        birth_date=date(1930, 1, 1) + timedelta(days=rng.randrange(33000)),
        phone=phone,
        email=f"p{int(phone[4:])}@example.org",
        address=f"{int(phone[4:])} rue de la Paix",
    )


def planted():
    """The planted patient's identity."""
    from patients.services import Identity

    last, first, born, phone = PLANTED
    return Identity(last_name=last, first_names=first, birth_date=born, phone=phone)


def sealed(practice_id: int, identity):
    """An unsaved patient row of the practice: its 9 fields sealed under the
    practice's key and its 7 blind indexes, as patients.services writes them."""
    from patients.models import Patient
    from patients.services import blind_indexes

    patient = Patient(practice_id=practice_id)
    patient.write(identity.sealed_values())
    for column, value in blind_indexes(practice_id, identity).items():
        setattr(patient, column, value)
    return patient


def _generate(practice, count: int, rng: random.Random) -> list[str]:
    """Bulk-create count sealed patients (and the planted one); returns their
    phones (E.164)."""
    from accounts.scoping import practice_scope
    from patients import keys
    from patients.models import Patient

    phones = []
    keys.practice_keys(practice.pk)
    with practice_scope(practice):
        batch = [sealed(practice.pk, planted())]
        for i in range(count):
            phone = f"+336{i:08d}"
            batch.append(sealed(practice.pk, identity(rng, phone)))
            phones.append(phone)
            if len(batch) == 5000:
                Patient.objects.bulk_create(batch)
                batch = []
        Patient.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE patients_patient")
    return phones


class Databases:
    """One throw-away database per size: the small practice's indexes are then
    small too (in one table, the 10k practice would sit on the 1M-row index).
    The connection is switched between them; the key cache is per practice id,
    and both databases have practice 1, so it is emptied at each switch."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.names: dict[str, str] = {}

    def create(self, label: str) -> None:
        from patients import keys

        keys.forget()  # the new database's practice 1 gets keys of its own
        connection.settings_dict["NAME"] = self.base
        connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{self.base}_bench_{label}"
        self.names[label] = connection.creation.create_test_db(
            verbosity=0, autoclobber=True, keepdb=False
        )

    def use(self, label: str) -> None:
        from patients import keys

        if connection.settings_dict["NAME"] != self.names[label]:
            connection.close()
            connection.settings_dict["NAME"] = self.names[label]
            keys.forget()

    def drop_all(self) -> None:
        for label in list(self.names):
            self.use(label)
            connection.creation.destroy_test_db(self.base, verbosity=0)


def _searches(practice, phones: list[str], rng: random.Random) -> dict:
    from patients import selectors

    def search(query: str, expected: int | None = None):
        found = selectors.patient_search(practice, query)
        if expected is not None:
            assert len(found.patients) == expected, (query, len(found.patients))
        [selectors.summary(p) for p in found.patients]

    last, first, born, _phone = PLANTED
    return {
        "by phone (1 hit)": lambda: search("0" + rng.choice(phones)[3:], 1),
        "exact last name (1 hit)": lambda: search(last, 1),
        '"nom prénom" (1 hit)': lambda: search(f"{first} {last}", 1),
        "common last name (50 hits)": lambda: search(rng.choice(LAST)),
        "3-letter prefix (+ refine)": lambda: search(rng.choice(LAST)[:3]),
    }


def run(small: int, large: int, repeat: int, databases: Databases) -> None:
    from accounts.models import Practice
    from accounts.scoping import practice_scope
    from patients import keys, selectors
    from patients.models import Patient

    rng = random.Random(42)
    practices = {}
    searches = {}
    for label, size in (("small", small), ("large", large)):
        databases.create(label)
        practice = Practice.objects.create(name=f"Bench {label}", slug=f"bench-{label}")
        start = time.perf_counter()
        phones = _generate(practice, size, rng)
        practices[label] = practice
        searches[label] = _searches(practice, phones, rng)
        elapsed = time.perf_counter() - start
        print(
            f"generated {size:>9,} sealed patients in {elapsed:6.1f} s "
            f"({elapsed / size * 1e6:.0f} µs/patient: 9 seals + 7 HMAC + insert)"
        )

    # Rounds interleaved (small, large, small, ...): load from elsewhere hits both.
    timings = {name: {"small": [], "large": []} for name in searches["small"]}
    for name in timings:
        for _round in range(repeat // 10):
            for label in ("small", "large"):
                databases.use(label)
                with practice_scope(practices[label]):
                    searches[label][name]()  # warm: keys unwrapped after a switch
                    for _ in range(10):
                        begin = time.perf_counter()
                        searches[label][name]()
                        timings[name][label].append((time.perf_counter() - begin) * 1e3)
    print()
    print(f"separate databases; min/median/max ms of {repeat} rounds; goal <= 1.2x")
    print(f"{'lookup':<28}{small:>22,}{large:>22,}   ratio")
    ratios = {}
    for name, by_size in timings.items():
        cells = [
            f"{min(t):.2f}/{statistics.median(t):.2f}/{max(t):.2f}"
            for t in (by_size["small"], by_size["large"])
        ]
        ratio = statistics.median(by_size["large"]) / statistics.median(by_size["small"])
        print(f"{name:<28}{cells[0]:>22}{cells[1]:>22}   {ratio:5.2f}x")
        ratios[name] = ratio
    databases.use("large")

    # Patient card: fetch by id + decrypt the 9 identity fields, against the
    # same fetch reading the columns without decrypting them (plaintext cost).
    practice = practices["large"]
    with practice_scope(practice):
        ids = list(Patient.objects.filter(practice=practice).values_list("pk", flat=True)[:500])

        def card_plain():
            patient = Patient.objects.get(practice=practice, pk=rng.choice(ids))
            [bytes(getattr(patient, f"{name}_sealed")) for name in Patient.SEALED]

        def card_sealed():
            patient = Patient.objects.get(practice=practice, pk=rng.choice(ids))
            selectors.identity(patient)

        plain = _timed(card_plain, repeat * 2)
        sealed = _timed(card_sealed, repeat * 2)
    print()
    print(f"card fetch, columns read raw     {plain * 1e6:8.0f} µs")
    print(f"card fetch + decrypt 9 fields    {sealed * 1e6:8.0f} µs   {sealed / plain:5.2f}x")
    for name, ratio in ratios.items():
        figure = f"search {name}, {large:,} vs {small:,} patients, medians"
        goal(issue="18.3", figure=figure, measured=ratio, unit="x", target=1.2, better="lower")
    goal(
        issue="3",
        figure=f"card fetch + decrypt 9 fields vs columns read raw, {large:,} patients",
        measured=sealed / plain,
        unit="x",
        target=1.2,
        better="lower",
    )

    practice_keys = keys.practice_keys(practice.pk)
    binding = ("patients_patient", "last_name", practice.pk, "00000000-0000-0000-0000-000000000000")
    n = 20000
    start = time.perf_counter()
    for _ in range(n):
        blob = practice_keys.seal("Lefèvre-Dubois", binding)
    seal_us = (time.perf_counter() - start) / n * 1e6
    start = time.perf_counter()
    for _ in range(n):
        practice_keys.open(blob, binding)
    open_us = (time.perf_counter() - start) / n * 1e6
    start = time.perf_counter()
    for _ in range(n):
        practice_keys.blind_index("name", "lefevre dubois")
    copy_us = (time.perf_counter() - start) / n * 1e6
    key = os.urandom(32)
    start = time.perf_counter()
    for _ in range(n):
        hmac.new(key, b"lefevre dubois", hashlib.sha256).digest()
    new_us = (time.perf_counter() - start) / n * 1e6
    print()
    print(f"encrypt one field (AES-256-GCM)  {seal_us:6.2f} µs")
    print(f"decrypt one field                {open_us:6.2f} µs")
    print(
        f"blind index, pre-keyed .copy()   {copy_us:6.2f} µs   "
        f"(hmac.new per value: {new_us:.2f} µs, {new_us / copy_us:.2f}x)"
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
