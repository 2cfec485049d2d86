"""Audit trail benchmark: python -m bench.audit [--size small|full|issue]

1. Appends/s from 8 concurrent writers to one chain vs 8 chains (one each).
2. Chain verification throughput (events/s) against a plain read of the same rows.
3. Audit browser first page and filtered pages at 1x and 10x the table size.

Runs in its own throw-away database (bench_<DATABASE name>), created and dropped
here. --size full (default, ~1 minute): 100k then 1M events; --size small: 10k
then 100k (its 1x pages hold fewer than 50 rows for the rare filters, so its
ratios compare different work); --size issue: 100k then 10M, the issue's sizes.
"""

import argparse
import multiprocessing
import os
import random
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secretariat.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from audit.chain import CONTENT_FIELDS  # noqa: E402
from bench.goals import goal  # noqa: E402

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
                actor=None,
                action="view",
                practice=practice_id,
                object_type="patient",
                object_id=number,
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
# Generated events spread over this window before now: 10M events then span several
# months (several partitions once the table is partitioned by month).
HISTORY = timedelta(days=180)


def _fill_one(practice_id: int, count: int, start: datetime, step_ms: int, seed: str) -> None:
    """Child process: append `count` valid events to a practice's chain with COPY,
    computing the links in Python exactly as the application does."""
    import json

    from audit.chain import chain_id_for, link_hash, payload_digest
    from audit.models import AuditChain

    rng = random.Random(seed)  # noqa: S311 (bench data)
    actors = [(actor_id, username) for actor_id, username in _ACTORS]
    try:
        chain_id = chain_id_for(f"practice:{practice_id}", practice_id)
        head = AuditChain.objects.get(pk=chain_id)
        prev, seq, moment = head.last_hash, head.last_seq, start
        sql = f"COPY audit_auditevent ({', '.join(_COLUMNS)}) FROM STDIN"
        with connection.cursor() as cursor:
            # History written in bulk, past the chain guard (migration 0012), which
            # wants each event appended with its head: this session fires no
            # trigger (the bench runs as a superuser).
            cursor.execute("SET session_replication_role = replica")
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for _ in range(count):
                seq += 1
                moment += timedelta(milliseconds=rng.randint(1, 2 * step_ms))
                content = _random_content(rng, actors, practice_id, seq, moment)
                event_hash = link_hash(prev, seq, payload_digest(content))
                row = dict(content, detail=json.dumps(content["detail"], sort_keys=True))
                copy.write_row((chain_id, seq, prev, event_hash, *[row[c] for c in _COLUMNS[4:]]))
                prev = event_hash
        AuditChain.objects.filter(pk=chain_id).update(
            last_seq=seq, last_hash=prev, last_occurred_at=moment
        )
    finally:
        connection.close()


def _random_content(rng: random.Random, actors, practice_id: int, seq: int, moment) -> dict:
    # 1 event in 1000 by a rare user, 1 in 100 about a frequent patient: both
    # filters then fill a page (50 rows) at 100k events already, so that 1x and
    # 10x pages show as many rows (a 3-row page against a 50-row one compares
    # rendering, not the query).
    actor_id, username = _RARE_ACTOR[0] if rng.random() < 0.001 else rng.choice(actors)
    roll = rng.random()
    action = "permission_denied" if roll < 0.001 else ("list" if roll < 0.2 else "view")
    return {
        "occurred_at": moment,
        "actor_id": actor_id,
        "actor_username": username,
        "role": "telesecretary",
        "action": action,
        "object_type": "patient",
        "object_id": FREQUENT_PATIENT if rng.random() < 0.01 else _patient(rng.randint(1, 5000)),
        "practice_id": practice_id,
        "outcome": "denied" if action == "permission_denied" else "allowed",
        "ip_address": "10.0.0.1",
        "user_agent": "bench",
        "request_id": f"{seq:032x}",
        "detail": _list_detail(rng) if action == "list" else {},
    }


def _list_detail(rng: random.Random) -> dict:
    # As the patient search and lists record them: the ids shown on the page.
    shown = [_patient(rng.randint(1, 5000)) for _ in range(rng.randint(0, 5))]
    return {"count": len(shown), "patient_ids": shown}


def _patient(number: int) -> str:
    """A patient's id as the application writes it (a UUID's text): the patient
    access report takes the id as a UUID."""
    return str(uuid.UUID(int=number))


_ACTORS: list[tuple[int, str]] = []  # set before forking
_RARE_ACTOR: list[tuple[int, str]] = []
FREQUENT_PATIENT = _patient(77)
TYPICAL_PATIENT = _patient(1234)  # one of 5000: 0.02% of the events


def generate(practice_ids: list[int], per_chain: int, start: datetime, step_ms: int, tag: str):
    """Fill every practice's chain at once, one forked process per chain (each its
    own connection): the hashing is Python, so one process would take an hour for
    10M events. The browser's secondary indexes are dropped during the COPY and
    rebuilt after (a bulk build is many times faster than 10M index insertions);
    then VACUUM ANALYZE, as autovacuum would eventually do, so that timings
    measure the queries and not a vacuum running in the background."""
    indexes = _drop_secondary_indexes()
    context = multiprocessing.get_context("fork")
    connection.close()
    workers = [
        context.Process(
            target=_fill_one, args=(practice_id, per_chain, start, step_ms, f"{tag}:{practice_id}")
        )
        for practice_id in practice_ids
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
        assert worker.exitcode == 0, worker.exitcode
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '256MB'")
        for definition in indexes:
            cursor.execute(definition)
        cursor.execute("VACUUM ANALYZE audit_auditevent")


def _drop_secondary_indexes() -> list[str]:
    """Drop the indexes of audit_auditevent that back no constraint; return their
    definitions (for a partitioned table, the parent's: recreated on every
    partition)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.relname, pg_get_indexdef(i.oid)
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            WHERE x.indrelid = 'audit_auditevent'::regclass
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
            """
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    return [definition.replace(" ON ONLY ", " ON ") for _name, definition in indexes]


def verify_throughput(practice_id: int) -> dict[str, tuple[float, int]]:
    """events/s of verify_all for one practice's chain (one statement, one
    connection) and for every chain (AUDIT_VERIFY_WORKERS at once), and rows/s of
    a plain read of up to 1M rows through the ORM, for scale."""
    from audit.models import AuditEvent
    from audit.verification import verify_all

    started = time.perf_counter()
    plain = AuditEvent.objects.order_by("id").values_list("id", "hash", "detail")[:READ_ROWS]
    rows = sum(1 for _ in plain.iterator(10_000))
    results = {"plain read": (rows / (time.perf_counter() - started), rows)}
    for label, practice in (("one chain", practice_id), ("every chain", None)):
        started = time.perf_counter()
        reports = verify_all(practice)
        seconds = time.perf_counter() - started
        assert all(report.ok for report in reports), [r for r in reports if not r.ok]
        checked = sum(report.count for report in reports)
        results[label] = (checked / seconds, checked)
    return results


READ_ROWS = 1_000_000


# --- 3. audit browser ---------------------------------------------------------------


def _page_ms(request, repeat: int = 11) -> tuple[float, int]:
    """Fastest page time of `repeat` and the number of rows the page shows (a page
    of 10 rows against one of 50 is not the same work). The fastest, not the
    median: the 1x and 10x pages are timed minutes apart on 2 shared CPUs, and
    load from elsewhere only ever adds time (medians gave 1.05x then 1.81x for the
    same page in two runs of --size full; the database part is ~1 ms)."""
    response = request()  # warm-up: caches, plans
    rows = len(response.context["events"])
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = request()
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return min(timings), rows


def _first_day():
    """The local day of the first generated event (seq 1 is the practice's
    creation, today): its events exist at 1x and at 10x."""
    from django.utils import timezone

    from audit.models import AuditEvent

    first = AuditEvent.objects.filter(practice_id__in=_GENERATED, seq=2).order_by("id").first()
    return timezone.localdate(first.occurred_at)


_GENERATED: list[int] = []  # the practices whose chains were generated


def browser_timings(client, practice_id: int) -> dict[str, tuple[float, int]]:
    from django.urls import reverse

    url = reverse("audit:event_list")
    report = reverse("audit:patient_access")
    day = _first_day().isoformat()
    patient = {"practice": practice_id, "object_type": "patient", "object_id": FREQUENT_PATIENT}
    return {
        "first page": _page_ms(lambda: client.get(url)),
        "practice + patient": _page_ms(lambda: client.post(url, patient)),
        "user": _page_ms(lambda: client.post(url, {"user": "user7"})),
        # 0.1% of the events: the worst case of the former subquery plan.
        "rare user": _page_ms(lambda: client.post(url, {"user": "rare_user"})),
        "rare action": _page_ms(lambda: client.post(url, {"action": "permission_denied"})),
        "absent action": _page_ms(lambda: client.post(url, {"action": "break_glass"})),
        "denied": _page_ms(lambda: client.post(url, {"outcome": "denied"})),
        "one day": _page_ms(lambda: client.post(url, {"date_from": day, "date_to": day})),
        # "Who accessed this patient?": events about the patient or listing it.
        "patient report": _page_ms(
            lambda: client.post(report, {"practice": practice_id, "patient_id": TYPICAL_PATIENT})
        ),
        "frequent patient report": _page_ms(
            lambda: client.post(report, {"practice": practice_id, "patient_id": FREQUENT_PATIENT})
        ),
    }


# The patient access reports are timed too, but issue 5's goal (<= 1.5x) is the
# audit browser's; a typical patient's report also shows 1 row at 1x against 50
# at 10x, not the same work.
PATIENT_REPORTS = ("patient report", "frequent patient report")

SIZES = {"small": (10_000, 100_000), "full": (100_000, 1_000_000), "issue": (100_000, 10_000_000)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="full", help=_SIZE_HELP)
    parser.add_argument("--full", action="store_true", help="same as --size full")
    parser.add_argument("--per-writer", type=int, default=250)
    parser.add_argument("--keep", action="store_true", help="keep the database (for EXPLAIN)")
    args = parser.parse_args()
    small, big = SIZES["full" if args.full else args.size]

    setup_test_environment()
    name = _create_database()
    try:
        run(small, big, args.per_writer)
    finally:
        connection.close()
        if args.keep:
            print(f"kept database {name}")
        else:
            _drop_database(name)


_SIZE_HELP = "small: 10k vs 100k events; full: 100k vs 1M; issue: 100k vs 10M (~20 GB free disk)"


def run(small: int, big: int, per_writer: int) -> None:
    from accounts.roles import Role
    from tests.factories import PracticeFactory, UserFactory, grant
    from tests.personas import verified_client

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The appends go to chains of their own: generated chains hold history only.
    writers = [PracticeFactory().pk for _ in range(WRITERS)]
    practices = [PracticeFactory().pk for _ in range(PRACTICES)]
    _GENERATED[:] = practices
    _ACTORS[:] = [(UserFactory(username=f"user{i}").pk, f"user{i}") for i in range(20)]
    _RARE_ACTOR[:] = [(UserFactory(username="rare_user").pk, "rare_user")]
    client = verified_client(grant(UserFactory(username="bench_dpo"), Role.COMPLIANCE_OFFICER))

    print(f"1. Appends, {WRITERS} concurrent writer processes x {per_writer} events")
    print(f"   ({os.cpu_count()} CPUs)")
    one = appends_per_second(writers[:1], per_writer)
    many = appends_per_second(writers, per_writer)
    print(f"   one chain : {one:8.0f} appends/s")
    print(f"   {WRITERS} chains  : {many:8.0f} appends/s   ratio {many / one:.2f}x")
    with _chain_guard_off():
        unguarded = appends_per_second(writers, per_writer)
    print(
        f"   {WRITERS} chains, chain guard off: {unguarded:8.0f} appends/s   "
        f"guard costs {unguarded / many:.2f}x"
    )

    ratio = big // small
    print(f"3. Audit browser (fastest of 11), 1x = {small:,} events, {ratio}x = {big:,}")
    per_chain, first_round = big // PRACTICES, small // PRACTICES
    # Steps are uniform in [1, 2 * step_ms]; round 2 starts after round 1's longest
    # possible end, so the mean span is (per_chain + first_round) steps: 95% of
    # HISTORY, which leaves the randomness room before now.
    step_ms = int(0.95 * HISTORY.total_seconds() * 1000 / (per_chain + first_round))
    origin = datetime.now(UTC) - HISTORY - timedelta(minutes=1)
    # The generated months need their partitions (else every event would sit in
    # the default partition, unlike production).
    from audit.partitions import partitions_ensure

    partitions_ensure(today=origin.date(), months_ahead=HISTORY.days // 28 + 3)
    # Round 2 starts after the latest possible end of round 1: time never goes back.
    later = origin + timedelta(milliseconds=2 * step_ms * first_round)
    for label, count, start in (("", small, origin), ("more ", big - small, later)):
        started = time.perf_counter()
        generate(practices, count // PRACTICES, start, step_ms, tag=label or "first")
        print(f"   generated {count:,} {label}events in {time.perf_counter() - started:.0f}s")
        if not label:
            base = browser_timings(client, practices[0])
    grown = browser_timings(client, practices[0])
    _print_size_on_disk()
    browser = {}
    for label, (ms, rows) in base.items():
        big_ms, big_rows = grown[label]
        print(
            f"   {label:20s} 1x {ms:7.1f} ms ({rows:2d} rows)   "
            f"{ratio}x {big_ms:7.1f} ms ({big_rows:2d} rows)   ratio {big_ms / ms:.2f}x"
        )
        if label not in PATIENT_REPORTS:
            browser[label] = big_ms / ms

    print(f"2. Verification (audit_verify), AUDIT_VERIFY_WORKERS={settings.AUDIT_VERIFY_WORKERS}")
    results = verify_throughput(practices[0])
    read_rate, rows = results.pop("plain read")
    print(f"   plain read  : {read_rate:10.0f} rows/s over {rows:,} rows (ORM)")
    for label, (rate, checked) in results.items():
        print(
            f"   {label:12s}: {rate:10.0f} events/s over {checked:,} events   "
            f"ratio {rate / read_rate:.2f}x of a plain read"
        )
    for label, page_ratio in browser.items():
        goal(
            issue="5",
            figure=f"audit browser, {label}, {big:,} vs {small:,} events, fastest of 11",
            measured=page_ratio,
            unit="x",
            target=1.5,
            better="lower",
        )
    for label, (rate, checked) in results.items():
        goal(
            issue="5",
            figure=f"verification, {label}, {checked:,} events",
            measured=rate,
            unit="events/s",
            target=100_000,
            better="higher",
        )


_GUARD_TRIGGERS = (
    ("audit_auditevent", "audit_event_guard"),
    ("audit_auditevent", "audit_event_clock"),
    ("audit_auditchain", "audit_chain_guard_update"),
)


@contextmanager
def _chain_guard_off():
    """The baseline of the guard's cost (migration 0012): its triggers off."""

    def switch(state: str) -> None:
        with connection.cursor() as cursor:
            for table, trigger in _GUARD_TRIGGERS:
                cursor.execute(f"ALTER TABLE {table} {state} TRIGGER {trigger}")
        connection.close()  # the writers fork from a parent with no connection

    switch("DISABLE")
    try:
        yield
    finally:
        switch("ENABLE")


def _print_size_on_disk() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            # pg_partition_tree is empty for a table that is not partitioned.
            "SELECT pg_size_pretty(coalesce(sum(pg_total_relation_size(relid)),"
            " pg_total_relation_size('audit_auditevent'))) "
            "FROM pg_partition_tree('audit_auditevent')"
        )
        print(f"   audit_auditevent on disk: {cursor.fetchone()[0]}")


if __name__ == "__main__":
    main()
