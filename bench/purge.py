"""Retention purge benchmark: python -m bench.purge [--full] [--rows N]

Deletes N expired appointments (default 100k, --full 1M) of one practice twice,
each time in a fresh subprocess so that its peak memory (VmHWM) is its own:
1. the application's purge (compliance.retention.purge_practice: batches of 1000
   in their own transactions, FOR UPDATE SKIP LOCKED, one audit event a batch);
2. the baseline: one plain DELETE statement of the same rows.
Prints rows/s and peak memory of each, and the ratios purge / baseline.

Runs in its own throw-away database (bench_purge_<DATABASE name>), created and
dropped here. Rows are inserted by SQL (generate_series): the sealed reason is
filler bytes, which the purge never decrypts.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secretariat.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

_CHILD = """
import json, os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secretariat.settings")
import django
django.setup()
from django.db import connection
connection.settings_dict["NAME"] = sys.argv[1]
def peak_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
mode, practice_id = sys.argv[2], int(sys.argv[3])
setup_kb = peak_kb()
start = time.perf_counter()
if mode == "purge":
    from accounts.models import Practice
    from compliance.retention import purge_practice
    removed = purge_practice(Practice.objects.get(pk=practice_id))["appointments"]
else:
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM appointments_appointment WHERE practice_id = %s"
            " AND \\"end\\" < now() - interval '365 days'",
            [practice_id],
        )
        removed = cursor.rowcount
seconds = time.perf_counter() - start
print(json.dumps({"removed": removed, "seconds": seconds, "peak_kb": peak_kb(),
                  "setup_kb": setup_kb}))
"""


def _create_database() -> str:
    settings_dict = connection.settings_dict
    name = f"bench_purge_{settings_dict['NAME']}"
    settings_dict.setdefault("TEST", {})["NAME"] = name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    return name


def _fill(practice, practitioner, kind, patient, rows: int) -> None:
    """`rows` appointments that ended 2 to ~3 years ago (20 minutes apart, no
    overlap), plus 1000 recent ones that must stay."""
    with connection.cursor() as cursor:
        for _label, count, base in (
            ("old", rows, "now() - interval '730 days'"),
            ("recent", 1000, "now() - interval '1 day'"),
        ):
            cursor.execute(
                f"""
                INSERT INTO appointments_appointment
                    (id, practice_id, key_version, practitioner_id, patient_id,
                     appointment_type_id, start, "end", status, cancellation_category,
                     reason_sealed, created_at, updated_at)
                SELECT gen_random_uuid(), %s, 1, %s, %s, %s,
                       {base} - g * interval '20 minutes',
                       {base} - g * interval '20 minutes' + interval '15 minutes',
                       'done', '', decode(md5(g::text), 'hex'), now(), now()
                FROM generate_series(1, %s) AS g
                """,
                [practice.pk, practitioner.pk, patient.pk, kind.pk, count],
            )
        cursor.execute("ANALYZE appointments_appointment")


def _run(name: str, mode: str, practice_id: int) -> dict:
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", _CHILD, name, mode, str(practice_id)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="1M expired appointments")
    parser.add_argument("--rows", type=int, default=None)
    args = parser.parse_args()
    rows = args.rows or (1_000_000 if args.full else 100_000)

    setup_test_environment()
    name = _create_database()
    try:
        from accounts.roles import Role
        from accounts.scoping import practice_scope
        from tests.appointments.helpers import appointment_type
        from tests.factories import PracticeFactory, UserFactory, grant
        from tests.patients.helpers import make_patient

        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        practice = PracticeFactory()
        doctor = grant(UserFactory(username="bench_dr"), Role.PRACTITIONER, practice)
        with practice_scope(practice):
            kind = appointment_type(practice)
            patient = make_patient(practice)
        # The periods announced long ago (dry run first): the purge applies them now.
        from datetime import timedelta

        from django.utils import timezone

        from compliance.retention import NOTICE_DAYS, purge_announce

        purge_announce(practice=practice, now=timezone.now() - timedelta(days=NOTICE_DAYS + 1))
        print(f"Purge of {rows:,} expired appointments (+1,000 recent kept), one practice")
        results = {}
        for mode in ("purge", "delete"):
            started = time.perf_counter()
            _fill(practice, doctor, kind, patient, rows)
            filled = time.perf_counter() - started
            connection.close()
            result = _run(name, mode, practice.pk)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM appointments_appointment WHERE practice_id = %s",
                    [practice.pk],
                )
                left = cursor.fetchone()[0]
                cursor.execute("DELETE FROM appointments_appointment")  # reset for the next
            assert result["removed"] == rows, result
            assert left == 1000, left
            results[mode] = result
            rate = rows / result["seconds"]
            print(
                f"   {mode:7s}: {result['seconds']:7.2f} s  {rate:10.0f} rows/s   "
                f"peak {result['peak_kb'] / 1024:6.1f} MB "
                f"(after setup {result['setup_kb'] / 1024:.1f} MB)   filled in {filled:.1f}s"
            )
        purge, delete = results["purge"], results["delete"]
        print(
            f"   ratios purge/DELETE: time {purge['seconds'] / delete['seconds']:.2f}x   "
            f"rows/s {delete['seconds'] / purge['seconds']:.2f}x   "
            f"peak memory {purge['peak_kb'] / delete['peak_kb']:.2f}x"
        )
    finally:
        connection.close()
        connection.creation.destroy_test_db(name, verbosity=0)


if __name__ == "__main__":
    main()
