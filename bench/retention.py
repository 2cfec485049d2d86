"""Audit retention (issue 18 item 5): dropping the oldest month through
`partition_drop` (verification up to the month's end, checkpoints, detach and
drop) against a chunked DELETE of the next month's rows, in one run.

    python -m bench.retention                     # 1M events over 12 months (a few minutes)
    python -m bench.retention --events 10000000   # the issue's size (~20 GB free disk)

The events are generated as bench.audit does (one forked process per chain, COPY),
over 12 months for 10 practices, so the two months compared hold about the same
number of events. Goal: drop <= 0.1x the chunked DELETE (0.05x ideally). Also
printed: how many events the drop verified, against the whole trail (before
issue 18 it re-verified every chain in full for each month dropped).

Runs in its own throw-away database (created and dropped here).
"""

import argparse
import time
from datetime import UTC, datetime, timedelta

from bench import audit as audit_bench
from bench.audit import connection
from bench.goals import goal

MONTHS = 12
PRACTICES = 10
DELETE_BATCH = 10_000


def _month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _chunked_delete(lower: datetime, upper: datetime) -> int:
    """The month's rows deleted 10,000 at a time, each batch its own statement
    (the append-only triggers off for this session: the bench is a superuser)."""
    deleted = 0
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        while True:
            cursor.execute(
                "DELETE FROM audit_auditevent WHERE id IN (SELECT id FROM audit_auditevent"
                " WHERE occurred_at >= %s AND occurred_at < %s LIMIT %s)",
                [lower, upper, DELETE_BATCH],
            )
            if cursor.rowcount == 0:
                break
            deleted += cursor.rowcount
        cursor.execute("SET session_replication_role = origin")
    return deleted


def run(events: int) -> None:
    from audit import partitions
    from audit.models import GENESIS_HASH
    from tests.factories import PracticeFactory, UserFactory

    practices = [PracticeFactory().pk for _ in range(PRACTICES)]
    # The practices' creation events are dated now: the generated history must be
    # the whole of each chain (retention drops a chain's oldest events first).
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("DELETE FROM audit_auditevent")
        cursor.execute(
            "UPDATE audit_auditchain SET last_seq = 0, last_hash = %s, last_occurred_at = NULL",
            [GENESIS_HASH],
        )
        cursor.execute("SET session_replication_role = origin")
    audit_bench._ACTORS[:] = [(UserFactory(username=f"user{i}").pk, f"user{i}") for i in range(20)]
    audit_bench._RARE_ACTOR[:] = [(UserFactory(username="rare_user").pk, "rare_user")]
    origin = _month_start(datetime.now(UTC) - timedelta(days=31 * (MONTHS + 1)))
    span = timedelta(days=30.4 * MONTHS)
    per_chain = events // PRACTICES
    step_ms = int(span.total_seconds() * 1000 / per_chain / 1.05)
    partitions.partitions_ensure(today=origin.date(), months_ahead=MONTHS + 3)
    started = time.perf_counter()
    audit_bench.generate(practices, per_chain, origin, step_ms, tag="retention")
    print(
        f"generated {events:,} events over {MONTHS} months in {time.perf_counter() - started:.0f}s"
    )

    months = [p for p in partitions.list_partitions() if p.month is not None]
    oldest, second = months[0], months[1]
    ranges = partitions.chain_ranges(oldest)
    in_month = sum(row[3] for row in ranges)

    started = time.perf_counter()
    summary = partitions.partition_drop(partition=oldest)
    drop_s = time.perf_counter() - started
    verified = sum(row[2] for row in ranges)  # each chain from its start to the month's end

    started = time.perf_counter()
    deleted = _chunked_delete(second.lower, second.upper)
    delete_s = time.perf_counter() - started

    print(f"  drop of {oldest.name}: {summary['events']:,} events, {drop_s:7.2f} s")
    print(f"    verified {verified:,} events (the month, from each chain's start)")
    print(f"  chunked DELETE of {second.name}: {deleted:,} events, {delete_s:7.2f} s (baseline)")
    per_event = (drop_s / max(1, in_month)) / (delete_s / max(1, deleted))
    print(f"  drop vs chunked DELETE, per event: {per_event:.3f}x (goal <= 0.1x, ideally 0.05x)")
    goal(
        issue="18.5",
        figure=f"drop vs chunked DELETE per event, {events:,} events (ideally 0.05x)",
        measured=per_event,
        unit="x",
        target=0.1,
        better="lower",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    audit_bench.setup_test_environment()
    name = audit_bench._create_database()
    try:
        run(args.events)
    finally:
        connection.close()
        audit_bench._drop_database(name)


if __name__ == "__main__":
    main()
