"""A backup of a database many times larger than a chunk runs in bounded memory."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from secretariat.crypto import new_keyring_value

ROOT = Path(__file__).resolve().parents[2]
ROWS = 150_000  # 150k rows x 256 bytes: about 38 MB in the table, > 16 MB dumped
MAX_RSS_MB = 150

_SCRIPT = """
import json, os, resource, sys
import django
def peak_kb():
    # VmHWM is this process's own peak: ru_maxrss would also count the parent's
    # pages at the time of fork (vfork then exec copies the high-water mark).
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
django.setup()
from continuity.backup import DatabaseTarget, backup_create
import psycopg
setup_kb = peak_kb()
result = backup_create(dest=sys.argv[1], target=DatabaseTarget.from_url(os.environ["SCRATCH_URL"]))
print(json.dumps({
    "self_kb": peak_kb(),
    "setup_kb": setup_kb,
    "children_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    "size": result.manifest["size"],
    "chunks": result.manifest["chunks"],
    "rows": result.manifest["row_counts"]["blob"],
}))
"""


@pytest.mark.django_db(transaction=True)
def test_backup_of_a_large_database_stays_within_bounded_memory(scratch_database, tmp_path):
    with scratch_database.connect(autocommit=True) as conn:
        conn.execute("CREATE TABLE blob (id bigserial PRIMARY KEY, body bytea)")
        # 8 x 32 random bytes per row (md5 of random values): incompressible.
        conn.execute(
            "INSERT INTO blob (body) SELECT "
            + " || ".join(["decode(md5(random()::text), 'hex')"] * 8)
            + " FROM generate_series(1, %s)",
            [ROWS],
        )
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_ALLOW_ASYNC_UNSAFE",)}
    env.update(BACKUP_KEYRING=new_keyring_value(), SCRATCH_URL=scratch_database.url())
    completed = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    print("backup memory:", figures)
    assert figures["rows"] == ROWS
    assert figures["size"] > 16 * 1024 * 1024
    assert figures["chunks"] >= 16
    assert figures["self_kb"] / 1024 < MAX_RSS_MB
    # Bounded: the backup adds far less than the dump's size to the process.
    assert (figures["self_kb"] - figures["setup_kb"]) * 1024 < figures["size"] / 2
    # pg_dump's peak (an upper bound: it includes our pages at the time of the fork).
    assert figures["children_kb"] / 1024 < MAX_RSS_MB
