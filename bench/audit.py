"""Audit trail benchmark: python -m bench.audit [--full]

1. Appends/s from 8 concurrent writers to one chain vs 8 chains (one each).
2. Chain verification throughput (events/s) against a plain read of the same rows.
3. Audit browser first page and filtered pages at 1x and 10x the table size.

Runs in its own throw-away database (bench_<DATABASE name>), created and dropped
here. Default: 10k then 100k events (< 2 minutes); --full: 100k then 1M.
"""

import argparse
import multiprocessing
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secretariat.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from audit.chain import CONTENT_FIELDS  # noqa: E402

WRITERS = 8
PRACTICES = 10


def _create_database() -> str:
    settings_dict = connection.settings_dict
    name = f"bench_{settings_dict['NAME']}"
    settings_dict.setdefault("TEST", {})["NAME"] = name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    return name


def _drop_database(name: str) -> None:
    connection.creation.destroy_test_db(name, verbosity=0)


# --- 1. concurrent appends --------------------------------------------------------


def _writer(practice_id: int, count: int, barrier) -> None:
    from audit.services import record_event

    try:
        barrier.wait()
        for number in range(count):
            record_event(
                action="view", practice=practice_id, object_type="patient", object_id=number
            )
    finally:
        connection.close()


def appends_per_second(practice_ids: list[int], per_writer: int) -> float:
    """Writers are processes (each its own connection, no shared GIL), like web
    workers; forked after the parent closed its connection."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(WRITERS + 1)
    connection.close()
    workers = [
        context.Process(
            target=_writer, args=(practice_ids[i % len(practice_ids)], per_writer, barrier)
        )
        for i in range(WRITERS)
    ]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
        assert worker.exitcode == 0, worker.exitcode
    return WRITERS * per_writer / (time.perf_counter() - started)


# --- 2. bulk generation of valid chains ---------------------------------------------

_COLUMNS = ("chain_id", "seq", "prev_hash", "hash", *CONTENT_FIELDS)


def bulk_fill(
    practice_id: int, count: int, rng: random.Random, actors: list[tuple[int, str]]
) -> None:
    """Append `count` valid events to a practice's chain with COPY, computing the
    links in Python exactly as the application does."""
    import json

    from audit.chain import chain_id_for, link_hash, payload_digest
    from audit.models import AuditChain

    chain_id = chain_id_for(f"practice:{practice_id}", practice_id)
    head = AuditChain.objects.get(pk=chain_id)
    prev, seq = head.last_hash, head.last_seq
    moment = datetime.now(UTC) - timedelta(days=30)
    sql = f"COPY audit_auditevent ({', '.join(_COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for _ in range(count):
            seq += 1
            moment += timedelta(milliseconds=rng.randint(1, 5000))
            actor_id, username = rng.choice(actors)
            roll = rng.random()
            action = "permission_denied" if roll < 0.001 else ("list" if roll < 0.2 else "view")
            content = {
                "occurred_at": moment,
                "actor_id": actor_id,
                "actor_username": username,
                "role": "telesecretary",
                "action": action,
                "object_type": "patient",
                "object_id": str(rng.randint(1, 5000)),
                "practice_id": practice_id,
                "outcome": "denied" if action == "permission_denied" else "allowed",
                "ip_address": "10.0.0.1",
                "user_agent": "bench",
                "request_id": f"{seq:032x}",
                "detail": {"count": rng.randint(0, 50)} if action == "list" else {},
            }
            event_hash = link_hash(prev, seq, payload_digest(content))
            row = dict(content, detail=json.dumps(content["detail"], sort_keys=True))
            copy.write_row((chain_id, seq, prev, event_hash, *[row[c] for c in _COLUMNS[4:]]))
            prev = event_hash
    AuditChain.objects.filter(pk=chain_id).update(last_seq=seq, last_hash=prev)
    with connection.cursor() as cursor:
        # As autovacuum would eventually: timings then measure the queries, not
        # a vacuum running in the background.
        cursor.execute("VACUUM ANALYZE audit_auditevent")


def verify_throughput() -> tuple[float, float, int]:
    from audit.models import AuditEvent
    from audit.verification import verify_all

    started = time.perf_counter()
    rows = sum(1 for _ in AuditEvent.objects.values_list("id", "hash", "detail").iterator(10_000))
    read_seconds = time.perf_counter() - started
    started = time.perf_counter()
    reports = verify_all()
    verify_seconds = time.perf_counter() - started
    assert all(report.ok for report in reports), [r for r in reports if not r.ok]
    checked = sum(report.count for report in reports)
    return checked / verify_seconds, rows / read_seconds, checked


# --- 3. audit browser ---------------------------------------------------------------


def _median_ms(request, repeat: int = 7) -> tuple[float, int]:
    """Median page time and the number of rows the page shows (a page of 10 rows
    against one of 50 is not the same work)."""
    response = request()  # warm-up: caches, plans
    rows = len(response.context["events"])
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = request()
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return statistics.median(timings), rows


def browser_timings(client, practice_id: int) -> dict[str, tuple[float, int]]:
    from django.urls import reverse

    url = reverse("audit:event_list")
    return {
        "first page": _median_ms(lambda: client.get(url)),
        "practice + patient": _median_ms(
            lambda: client.post(
                url, {"practice": practice_id, "object_type": "patient", "object_id": "77"}
            )
        ),
        "user": _median_ms(lambda: client.post(url, {"user": "user7"})),
        "rare action": _median_ms(lambda: client.post(url, {"action": "permission_denied"})),
        "absent action": _median_ms(lambda: client.post(url, {"action": "break_glass"})),
        "denied": _median_ms(lambda: client.post(url, {"outcome": "denied"})),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="100k then 1M events")
    parser.add_argument("--per-writer", type=int, default=250)
    args = parser.parse_args()
    small = 100_000 if args.full else 10_000
    rng = random.Random(5)

    setup_test_environment()
    name = _create_database()
    try:
        from accounts.roles import Role
        from tests.factories import PracticeFactory, UserFactory, grant
        from tests.personas import verified_client

        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        practices = [PracticeFactory().pk for _ in range(PRACTICES)]
        actors = [(UserFactory(username=f"user{i}").pk, f"user{i}") for i in range(20)]
        officer = grant(UserFactory(username="bench_dpo"), Role.COMPLIANCE_OFFICER)
        client = verified_client(officer)

        print(
            f"1. Appends, {WRITERS} concurrent writer processes x {args.per_writer} events"
            f" ({os.cpu_count()} CPUs)"
        )
        one = appends_per_second(practices[:1], args.per_writer)
        many = appends_per_second(practices[:WRITERS], args.per_writer)
        print(f"   one chain : {one:8.0f} appends/s")
        print(f"   {WRITERS} chains  : {many:8.0f} appends/s   ratio {many / one:.2f}x")

        # Generated events start 30 days back: their months need partitions (else
        # they would all sit in the default partition, unlike production).
        from audit.services import partitions_ensure

        partitions_ensure(today=(datetime.now(UTC) - timedelta(days=31)).date(), months_ahead=2)
        print(f"3. Audit browser (median of 7), 1x = {small:,} events")
        started = time.perf_counter()
        for practice_id in practices:
            bulk_fill(practice_id, small // PRACTICES, rng, actors)
        print(f"   generated {small:,} events in {time.perf_counter() - started:.1f}s")
        base = browser_timings(client, practices[0])
        started = time.perf_counter()
        for practice_id in practices:
            bulk_fill(practice_id, 9 * small // PRACTICES, rng, actors)
        print(f"   generated {9 * small:,} more in {time.perf_counter() - started:.1f}s")
        big = browser_timings(client, practices[0])
        for label, (ms, rows) in base.items():
            big_ms, big_rows = big[label]
            print(
                f"   {label:20s} 1x {ms:7.1f} ms ({rows:2d} rows)   "
                f"10x {big_ms:7.1f} ms ({big_rows:2d} rows)   ratio {big_ms / ms:.2f}x"
            )

        print("2. Verification (audit_verify), every chain")
        verify_rate, read_rate, checked = verify_throughput()
        print(f"   plain read : {read_rate:10.0f} rows/s")
        print(
            f"   verify     : {verify_rate:10.0f} events/s over {checked:,} events   "
            f"ratio {verify_rate / read_rate:.2f}x of a plain read"
        )
    finally:
        connection.close()
        _drop_database(name)


if __name__ == "__main__":
    main()
