"""`audit_verify` as the command (issue 18 item 6): events/s of
`manage.py audit_verify --no-alert`, each run a new process timed from its start
to its exit (Django's setup, every chain, the digests, the orphan check), against
a baseline measured in the same run: the command of an older commit (--baseline,
its files taken with `git archive` into a temporary directory), rounds interleaved.

    python -m bench.verify                               # 1M events, 10 chains
    python -m bench.verify --baseline fa40d6a --rounds 5 # the old command as the baseline
    python -m bench.verify --events 10000000             # the issue's size (~6 GB of disk)

Events are generated as bench.audit does (one forked process per chain, COPY,
over 6 months: several month partitions). Runs in its own throw-away database
(created and dropped here, --keep to keep it). Goal: >= 150k events/s.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

from bench import audit as audit_bench
from bench.audit import connection
from bench.goals import goal

PRACTICES = 10
ROOT = Path(__file__).resolve().parent.parent
GOAL = 150_000


def _generate(events: int) -> int:
    from audit.partitions import partitions_ensure
    from tests.factories import PracticeFactory, UserFactory

    practices = [PracticeFactory().pk for _ in range(PRACTICES)]
    audit_bench._ACTORS[:] = [(UserFactory(username=f"user{i}").pk, f"user{i}") for i in range(20)]
    audit_bench._RARE_ACTOR[:] = [(UserFactory(username="rare_user").pk, "rare_user")]
    per_chain = events // PRACTICES
    # Steps are uniform in [1, 2 * step_ms]: the chains span 95% of HISTORY on average.
    step_ms = int(0.95 * audit_bench.HISTORY.total_seconds() * 1000 / per_chain)
    origin = datetime.now(UTC) - audit_bench.HISTORY - timedelta(minutes=1)
    partitions_ensure(today=origin.date(), months_ahead=audit_bench.HISTORY.days // 28 + 3)
    started = time.perf_counter()
    audit_bench.generate(practices, per_chain, origin, step_ms, tag="verify")
    print(f"generated {events:,} events in {time.perf_counter() - started:.0f}s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM audit_auditevent")
        total = cursor.fetchone()[0]
    connection.close()
    return total


def _count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM audit_auditevent")
        total = cursor.fetchone()[0]
    connection.close()
    return total


def _checkout(ref: str, into: Path) -> Path:
    """The project's files at `ref`, without touching the repository's work tree."""
    archive = subprocess.run(  # noqa: S603
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref],  # noqa: S607
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


class _ServerCpu:
    """CPU seconds spent by the database's server processes for this database
    (backends and parallel workers), read from /proc every 50 ms while the
    command runs (the server is on this machine): the part of the work that the
    machine's load does not inflate, unlike wall time. A process's last 50 ms
    before it exits may be missed."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> "_ServerCpu":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()

    def seconds(self) -> float:
        return sum(self.seen.values())

    def _poll(self) -> None:
        import psycopg

        settings_dict = connection.settings_dict
        with psycopg.connect(
            host=settings_dict.get("HOST") or "127.0.0.1",
            port=settings_dict.get("PORT") or 5432,
            user=settings_dict.get("USER"),
            password=settings_dict.get("PASSWORD") or None,
            dbname="postgres",
            autocommit=True,
        ) as poller:
            while not self.stop.wait(0.05):
                pids = poller.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.database]
                ).fetchall()
                for (pid,) in pids:
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    cpu = (int(fields[11]) + int(fields[12])) / _TICKS
                    self.seen[pid] = max(cpu, self.seen.get(pid, 0.0))


_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class _Run:
    seconds: float  # wall, from the command's start to its exit
    client_cpu: float  # the command's process
    server_cpu: float  # its database server processes
    peak_kb: int  # the command's peak resident memory


def _command(code: Path, env: dict, args: list[str]) -> _Run:
    started = time.perf_counter()
    with _ServerCpu(connection.settings_dict["NAME"]) as server:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, str(code / "manage.py"), "audit_verify", "--no-alert", *args],
            cwd=code,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        output = process.stdout.read()
        # wait4: this child's own CPU time and peak memory.
        _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"audit_verify failed in {code}:\n{output.decode()}")
    return _Run(seconds, usage.ru_utime + usage.ru_stime, server.seconds(), usage.ru_maxrss)


def _rates(seconds: list[float], events: int) -> str:
    rates = sorted(events / s for s in seconds)
    return (
        f"min {rates[0]:9,.0f}  median {statistics.median(rates):9,.0f}  "
        f"max {rates[-1]:9,.0f} events/s"
    )


def run(events: int | None, rounds: int, baseline: str | None, variants: list[str]) -> None:
    total = _generate(events) if events else _count()
    env = dict(os.environ)
    env["DATABASE_URL"] = _database_url(connection.settings_dict)
    # As in production, where the code is compiled once: the first round writes
    # the bytecode, the others read it (each side compiles its own tree).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cases: list[tuple[str, Path, list[str]]] = []
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as temporary:
        if baseline:
            cases.append((f"baseline {baseline}", _checkout(baseline, Path(temporary)), []))
        for variant in variants:
            cases.append((f"this tree {variant}".strip(), ROOT, variant.split()))
        runs: dict[str, list[_Run]] = {label: [] for label, _code, _args in cases}
        for number in range(rounds):
            for label, code, args in cases:
                runs[label].append(_command(code, env, args))
            load = os.getloadavg()[0]
            print(f"  round {number + 1}/{rounds} done, load average {load:.1f}", flush=True)
    print(f"audit_verify --no-alert over {total:,} events, {rounds} rounds ({os.cpu_count()} CPUs)")
    print("  medians; ratios against the first line")
    first = runs[cases[0][0]]
    for label, done in runs.items():
        seconds = [run.seconds for run in done]
        ratio = statistics.median(run.seconds for run in first) / statistics.median(seconds)
        print(f"  {label:28s} {_rates(seconds, total)}   {ratio:.2f}x")
        client = statistics.median(run.client_cpu for run in done)
        server = statistics.median(run.server_cpu for run in done)
        used = client + server
        before = statistics.median(run.client_cpu + run.server_cpu for run in first)
        peak = max(run.peak_kb for run in done) / 1024
        print(
            f"  {'':28s} CPU {used * 1e6 / total:5.2f} us/event ({client:.1f} s command, "
            f"{server:.1f} s server)   {before / used:.2f}x less   command peak {peak:.0f} MB"
        )
    best = statistics.median(run.seconds for run in runs[cases[-1][0]])
    print(f"  goal >= {GOAL:,} events/s: median {total / best:,.0f}")
    goal(
        issue="18.6",
        figure=f"audit_verify as the command ({cases[-1][0]}), {total:,} events, median",
        measured=total / best,
        unit="events/s",
        target=GOAL,
        better="higher",
    )


def _database_url(settings_dict: dict) -> str:
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", metavar="GIT_REF", help="the older commit to compare with")
    parser.add_argument(
        "--variant",
        action="append",
        default=None,
        help="arguments of this tree's command, one case each (default: none)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--reuse", action="store_true", help="the database kept by --keep, as it is (no generation)"
    )
    args = parser.parse_args()
    audit_bench.setup_test_environment()
    if args.reuse:
        name = connection.settings_dict["NAME"] = f"bench_{connection.settings_dict['NAME']}"
    else:
        name = audit_bench._create_database()
    try:
        run(None if args.reuse else args.events, args.rounds, args.baseline, args.variant or [""])
    finally:
        connection.close()
        if args.keep or args.reuse:
            print(f"kept database {name}")
        else:
            audit_bench._drop_database(name)


if __name__ == "__main__":
    main()
