"""`make bench`: every benchmark, one after the other, each in its own process
and its own throw-away database; each prints its ratios against a baseline
measured in the same run. `python -m bench NAME [ARGS]` runs one. At the end,
every figure a benchmark reported against its issue's goal (bench/goals.py),
in one table."""

import subprocess
import sys

from bench.goals import parse, table

BENCHMARKS = [
    "patients",
    "audit",
    "verify",
    "appointments",
    "agenda",
    "pages",
    "contention",
    "retention",
    "booking",
    "backup_memory",
    "purge",
    "outbox",
    "topology",
    "rls",
    "console",
    "console_scale",
    "fhir",
    "feed",
    "migrations",
    "pool",
]


def main() -> int:
    names = sys.argv[1:2] or BENCHMARKS
    extra = sys.argv[2:]
    failed, goals = 0, []
    for name in names:
        print(f"\n=== bench.{name} ===", flush=True)
        returncode, lines = _run(name, extra)
        failed += returncode != 0
        goals += [fields for fields in map(parse, lines) if fields]
    if goals:
        print("\n=== goals ===")
        print(table(goals))
    return 1 if failed else 0


def _run(name: str, extra: list[str]) -> tuple[int, list[str]]:
    """Run one benchmark, echoing its output as it comes, and keep its lines."""
    command = [sys.executable, "-m", f"bench.{name}", *extra]
    lines = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, bufsize=1) as process:  # noqa: S603
        for line in process.stdout:
            print(line, end="", flush=True)
            lines.append(line)
    return process.returncode, lines


if __name__ == "__main__":
    sys.exit(main())
