"""`make bench`: every benchmark, one after the other, each in its own process
and its own throw-away database; each prints its ratios against a baseline
measured in the same run. `python -m bench NAME [ARGS]` runs one."""

import subprocess
import sys

BENCHMARKS = [
    "patients",
    "audit",
    "verify",
    "appointments",
    "agenda",
    "contention",
    "retention",
    "booking",
    "backup_memory",
    "purge",
    "outbox",
    "topology",
    "rls",
    "console",
    "fhir",
    "feed",
    "migrations",
    "pool",
]


def main() -> int:
    names = sys.argv[1:2] or BENCHMARKS
    extra = sys.argv[2:]
    failed = 0
    for name in names:
        print(f"\n=== bench.{name} ===", flush=True)
        failed += subprocess.call([sys.executable, "-m", f"bench.{name}", *extra]) != 0  # noqa: S603
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
