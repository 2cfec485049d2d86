"""Peak memory of `backup` against database size: bounded means flat.

    DATABASE_URL=postgres://... python -m bench.backup_memory [--big]

Creates scratch databases on the server of DATABASE_URL with incompressible
rows, backs each up in a fresh process and prints that process's peak RSS,
pg_dump's, and the ratio against the smallest size measured in the same run.
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_SCRIPT = """
import json, os, resource, sys, time
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
start = time.perf_counter()
result = backup_create(dest=sys.argv[1], target=DatabaseTarget.from_url(os.environ["SCRATCH_URL"]))
print(json.dumps({
    "self_kb": peak_kb(),
    "setup_kb": setup_kb,
    "children_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    "size": result.manifest["size"],
    "seconds": time.perf_counter() - start,
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big", action="store_true", help="up to ~600k rows (~150 MB dumped)")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secretariat.settings")
    import django

    django.setup()
    from continuity.backup import DatabaseTarget
    from secretariat.crypto import new_keyring_value

    # CREATE/DROP DATABASE through the maintenance database: the one named in
    # DATABASE_URL need not exist (the test suite only creates test_<name>).
    source = DatabaseTarget.default().with_name("postgres")
    sizes = [1_000, 50_000, 200_000] + ([600_000] if args.big else [])
    baseline = None
    for rows in sizes:
        name = f"bench_backup_{secrets.token_hex(4)}"
        with source.connect(autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        try:
            scratch = source.with_name(name)
            with scratch.connect(autocommit=True) as conn:
                conn.execute("CREATE TABLE blob (id bigserial PRIMARY KEY, body bytea)")
                conn.execute(
                    "INSERT INTO blob (body) SELECT "
                    + " || ".join(["decode(md5(random()::text), 'hex')"] * 8)
                    + " FROM generate_series(1, %s)",
                    [rows],
                )
            env = dict(os.environ, BACKUP_KEYRING=new_keyring_value(), SCRATCH_URL=scratch.url())
            with tempfile.TemporaryDirectory() as dest:
                out = subprocess.run(
                    [sys.executable, "-c", _SCRIPT, dest],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
            figures = json.loads(out.stdout.strip().splitlines()[-1])
        finally:
            with source.connect(autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        baseline = baseline or figures["self_kb"]
        print(
            f"rows={rows:>8} dump={figures['size'] / 2**20:8.1f} MiB "
            f"peak_rss={figures['self_kb'] / 1024:6.1f} MiB "
            f"(x{figures['self_kb'] / baseline:.2f} vs smallest) "
            f"after_setup={figures['setup_kb'] / 1024:5.1f} MiB "
            f"pg_dump_rss<={figures['children_kb'] / 1024:5.1f} MiB "
            f"time={figures['seconds']:.1f}s"
        )


if __name__ == "__main__":
    main()
