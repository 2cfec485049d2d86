"""Patients benchmark: blind-index lookups at two table sizes, the card's
decryption against the same fetch without it, and per-field crypto costs.

    python -m bench.patients            # 10k vs 100k patients (< 2 min)
    python -m bench.patients --full     # 10k vs 1M patients

Runs in a throw-away test database (created and dropped here), never in the
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


def _generate(practice, count: int, rng: random.Random) -> list[str]:
    """Bulk-create count sealed patients; returns their phones (E.164)."""
    from accounts.scoping import practice_scope
    from patients import keys
    from patients.models import Patient
    from patients.services import Identity, blind_indexes

    phones = []
    batch = []
    keys.practice_keys(practice.pk)
    with practice_scope(practice):
        for i in range(count):
            # Suffixes make last names varied enough for realistic prefix buckets.
            last = rng.choice(LAST) + rng.choice(["", "", "-" + rng.choice(LAST)])
            phone = f"+336{i:08d}"
            identity = Identity(
                last_name=last,
                first_names=rng.choice(FIRST),
                birth_date=date(1930, 1, 1) + timedelta(days=rng.randrange(33000)),
                phone=phone,
                email=f"p{i}@example.org",
                address=f"{i} rue de la Paix",
            )
            patient = Patient(practice=practice)
            patient.write(identity.sealed_values())
            for column, value in blind_indexes(practice.pk, identity).items():
                setattr(patient, column, value)
            batch.append(patient)
            phones.append(phone)
            if len(batch) == 5000:
                Patient.objects.bulk_create(batch)
                batch = []
        Patient.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE patients_patient")
    return phones


def run(small: int, large: int, repeat: int) -> None:
    from accounts.models import Practice
    from accounts.scoping import practice_scope
    from patients import keys, selectors
    from patients.models import Patient

    rng = random.Random(42)
    practices = {}
    phones = {}
    for label, size in (("small", small), ("large", large)):
        practice = Practice.objects.create(name=f"Bench {label}", slug=f"bench-{label}")
        start = time.perf_counter()
        phones[label] = _generate(practice, size, rng)
        practices[label] = practice
        elapsed = time.perf_counter() - start
        print(
            f"generated {size:>9,} sealed patients in {elapsed:6.1f} s "
            f"({elapsed / size * 1e6:.0f} µs/patient: 9 seals + 7 HMAC + insert)"
        )

    results = {}
    for label, practice in practices.items():
        with practice_scope(practice):

            def by_phone(practice=practice, label=label):
                phone = rng.choice(phones[label])
                national = "0" + phone[3:]
                found = selectors.patient_search(practice, national)
                assert len(found.patients) == 1
                [selectors.summary(p) for p in found.patients]

            def by_prefix(practice=practice):
                found = selectors.patient_search(practice, rng.choice(LAST)[:3])
                [selectors.summary(p) for p in found.patients]

            results[label] = {
                "phone": _timed(by_phone, repeat),
                "prefix": _timed(by_prefix, max(10, repeat // 5)),
            }
    print()
    print(f"{'lookup':<28}{small:>10,}{large:>12,}   ratio")
    for kind, title in (
        ("phone", "by phone (+ decrypt hit)"),
        ("prefix", "by 3-letter prefix (+ refine)"),
    ):
        a, b = results["small"][kind], results["large"][kind]
        print(f"{title:<28}{a * 1e3:>8.2f}ms{b * 1e3:>10.2f}ms   {b / a:5.2f}x")

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
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{old_name}_bench"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        run(args.small, large, args.repeat)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
