"""The console's server time at scale (issue 14): a ringing call's requests in
one practice, with 1M patients across 1,000 practices against 10k, each size
in its own throw-away database.

    python -m bench.console_scale            # 10k vs 100k patients (~5 min)
    python -m bench.console_scale --full     # 10k vs 1M, the issue's sizes (~25 min on 2 CPUs)

Sizes: the large database has --large patients (`--full`: 1M) in practices of
--per-practice patients (1,000), so 1,000 practices at 1M. The small one has
--small patients (10,000) in practices of the same 1,000, so 10 practices, not
1,000 practices of 10: the measured practice is then the same practice at both
sizes (the same 1,000 generated patients, the same seed, the planted caller),
and the ratio is what the other practices and their patients cost its
requests (990 practices and 990,000 patients at 1M). At 10 patients a
practice, a name search would find a hundredth of the rows, and the ratio
would measure the practice's own size instead of the database's.

Generation: practices through accounts.services.practice_create (audited, one
line each), patients sealed under their own practice's key exactly as
patients.services writes them (bench.patients.sealed: 9 fields AES-GCM, 7
blind indexes), by forked workers (one per CPU), written with COPY while the
table's secondary indexes are dropped, then the indexes built again from their
own definitions and the table analysed.

The requests, in process through Django's test client (the whole middleware
stack, the view, its templates, its audit write), as a telesecretary holding a
verified session (bench.booking._session_for), for a call the phone system
posted (console.services.call_event_record) from the planted caller's number:

- the call page: the practice, the caller found by phone, the booking panel
  with its slots (`console:call`);
- a search by a common last name as it is typed (htmx, `auto`: the list);
- the patient opened: the booking panel (htmx, `console:patient`).

Rounds interleaved (each round: both sizes, every request --per-switch times,
after one unmeasured request per switch: the connection and the keys), p50/p95
of the Server-Timing total (secretariat.timing) and of the wall time; the goal
lines: p95 at the large size < 100 ms, and its ratio to the small size <= 1.2x.
"""

import argparse
import multiprocessing
import os
import random
import re
import statistics
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secretariat.settings")
os.environ.setdefault("SECRETARIAT_ENV", "test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from audit.context import Actor  # noqa: E402
from bench.booking import _session_for  # noqa: E402
from bench.goals import goal  # noqa: E402
from bench.patients import PLANTED, Databases, identity, planted, sealed  # noqa: E402

LINE = "+3314{:07d}"  # practice n's phone line
COMMON = "Martin"  # a common last name: a list of a dozen at 1,000 patients
_TOTAL = re.compile(r"\btotal;dur=([\d.]+)")


def _practices(count: int) -> list[int]:
    """`count` practices, each with its phone line; their ids, the measured one first."""
    from accounts import services as account_services
    from console.models import PhoneLine

    system = Actor.system("bench")
    ids = [
        account_services.practice_create(name=f"Cabinet {n}", slug=f"cabinet-{n}", actor=system).pk
        for n in range(count)
    ]
    PhoneLine.objects.bulk_create(
        PhoneLine(practice_id=pk, number=LINE.format(n)) for n, pk in enumerate(ids)
    )
    return ids


def _fill_share(share: list[tuple[int, int]], per_practice: int) -> int:
    """A forked worker: the patients of its practices, each practice's rows
    sealed under that practice's key, written with COPY in one transaction a
    practice. Practice n's patients are drawn from Random(n) at every size."""
    from django.utils import timezone

    from accounts.scoping import practice_scope
    from patients import keys
    from patients.models import Patient

    fields = Patient._meta.concrete_fields
    sql = f"COPY {Patient._meta.db_table} ({', '.join(f.column for f in fields)}) FROM STDIN"
    written = 0
    for index, practice_id in share:
        rng = random.Random(index)
        with practice_scope(practice_id):
            keys.practice_keys(practice_id)
            identities = [identity(rng, f"+336{index:03d}{i:05d}") for i in range(per_practice)]
            if index == 0:
                identities.append(planted())
            now = timezone.now()
            with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
                for person in identities:
                    patient = sealed(practice_id, person)
                    patient.created_at = patient.updated_at = now
                    copy.write_row(
                        [
                            f.get_db_prep_save(f.value_from_object(patient), connection)
                            for f in fields
                        ]
                    )
                    written += 1
    connection.close()
    return written


def _fill(ids: list[int], per_practice: int, workers: int) -> None:
    """Every practice's patients, by `workers` forked processes, the table's
    secondary indexes dropped during the load and built again after it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'patients_patient'"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    connection.close()  # the workers fork from a parent with no connection
    start = time.perf_counter()
    shares = [list(enumerate(ids))[n::workers] for n in range(workers)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        written = sum(pool.starmap(_fill_share, [(share, per_practice) for share in shares]))
    assert written == len(ids) * per_practice + 1, written
    loaded = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '256MB'")
        for _name, definition in indexes:
            cursor.execute(definition)
        cursor.execute("VACUUM ANALYZE patients_patient")
    print(
        f"  {written:,} patients sealed and copied by {workers} workers in {loaded - start:.0f} s"
        f" ({(loaded - start) / written * 1e6 * workers:.0f} µs a patient a worker),"
        f" {len(indexes)} indexes built and analysed in {time.perf_counter() - loaded:.0f} s",
        flush=True,
    )


def _world(practices: int, per_practice: int, workers: int) -> dict:
    """The database's practices and patients; the measured practice's doctor,
    telesecretary (a verified session) and a call ringing from the planted
    caller. The clients and paths of the three requests."""
    from django.test import Client
    from django.urls import reverse

    from accounts import services as account_services
    from accounts.models import ConfidentialityAgreement, Practice, User
    from accounts.roles import Role
    from accounts.scoping import practice_scope
    from appointments.services.schedule import agenda_starter_apply
    from console import services as console_services
    from console.cti import CallEvent
    from console.models import PhoneLine
    from patients import selectors as patient_selectors

    start = time.perf_counter()
    ids = _practices(practices)
    print(f"  {practices:,} practices in {time.perf_counter() - start:.0f} s", flush=True)
    _fill(ids, per_practice, workers)
    practice = Practice.objects.get(pk=ids[0])
    system = Actor.system("bench", practice=practice)
    agreement, _ = ConfidentialityAgreement.objects.get_or_create(
        version=1, defaults={"title": "Charte", "text": "Texte"}
    )
    users = {}
    for username, role in (("dr-scale", Role.PRACTITIONER), ("tele-scale", Role.TELESECRETARY)):
        users[role] = User.objects.create_user(username=username, password=None)
        account_services.membership_grant(
            user=users[role], role=role, practice=practice, actor=system, confirmed=True
        )
        users[role].acceptances.get_or_create(agreement=agreement)
    line = PhoneLine.objects.get(practice=practice)
    event = CallEvent(
        event="ringing",
        call_id="scale-1",
        caller=PLANTED[3],
        called=line.number,
        agent="tele-scale",
    )
    with practice_scope(practice):
        agenda_starter_apply(practice=practice, actor=system)
        item = console_services.PhoneEvent(line=line, event=event, at=timezone.now(), actor=system)
        call, _changed = console_services.call_event_record(item=item)
        caller = patient_selectors.patient_search(practice, PLANTED[3]).patients
        assert len(caller) == 1, len(caller)
    # The session is made when every database is ready (_sign_in): the policy
    # ends a session idle for 15 minutes, less than the 1M database takes.
    browser = Client()
    browser.telesecretary = users[Role.TELESECRETARY]
    with connection.cursor() as cursor:
        # Every table's statistics, at both sizes: autovacuum analyses a table
        # once enough of it changed, which the small database may not reach.
        cursor.execute("ANALYZE")
    slug = practice.slug
    return {
        "call page": (browser, "get", reverse("console:call", args=[slug, call.pk]), {}, {}),
        "search by name (typed)": (
            browser,
            "post",
            reverse("console:search", args=[slug]),
            {"q": COMMON, "auto": "on"},
            {"HTTP_HX_REQUEST": "true"},
        ),
        "patient opened (booking)": (
            browser,
            "get",
            reverse("console:patient", args=[slug, caller[0].pk]),
            {},
            {"HTTP_HX_REQUEST": "true"},
        ),
    }


def _sign_in(world: dict) -> None:
    """The telesecretary's verified session (bench.booking._session_for), in the
    database in use."""
    browser = next(iter(world.values()))[0]
    browser.cookies[settings.SESSION_COOKIE_NAME] = _session_for(browser.telesecretary)


def _request(target) -> tuple[float, float]:
    """(server ms from the Server-Timing total, wall ms) of one request."""
    browser, method, path, data, headers = target
    begin = time.perf_counter()
    response = getattr(browser, method)(path, data, **headers)
    wall = (time.perf_counter() - begin) * 1000
    assert response.status_code == 200, (path, response.status_code)
    return float(_TOTAL.search(response["Server-Timing"])[1]), wall


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def run(args) -> bool:
    settings.SERVER_TIMING = True  # the header the bench reads (secretariat/timing.py)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    small_practices = max(1, args.small // args.per_practice)
    sizes = {
        "small": (small_practices, f"{args.small:,} ({small_practices} practices)"),
        "large": (
            args.large // args.per_practice,
            f"{args.large:,} ({args.large // args.per_practice:,} practices)",
        ),
    }
    databases = Databases(connection.settings_dict["NAME"])
    worlds = {}
    try:
        for label, (practices, title) in sizes.items():
            start = time.perf_counter()
            databases.create(f"console_{label}")
            worlds[label] = _world(practices, args.per_practice, args.workers)
            print(f"{title:>28} patients: ready in {time.perf_counter() - start:.0f} s", flush=True)
        for label in sizes:
            databases.use(f"console_{label}")
            _sign_in(worlds[label])
        names = list(worlds["small"])
        server = {(name, label): [] for name in names for label in sizes}
        wall = {(name, label): [] for name in names for label in sizes}
        for number in range(args.rounds):
            order = ("small", "large") if number % 2 == 0 else ("large", "small")
            for label in order:
                databases.use(f"console_{label}")
                for name in names:
                    _request(worlds[label][name])  # warm: the connection, the keys
                    for _ in range(args.per_switch):
                        ms, elapsed = _request(worlds[label][name])
                        server[name, label].append(ms)
                        wall[name, label].append(elapsed)
    finally:
        databases.drop_all()

    count = args.rounds * args.per_switch
    print(
        f"\n{args.per_practice:,} patients a practice; ms per request through the test client"
        f" (middlewares, view, templates, audit write), {count} requests a size in"
        f" {args.rounds} interleaved rounds; server: the Server-Timing total"
    )
    small, large = (title for _practices, title in sizes.values())
    print(f"{'request':<26}{'':<8}{small:>30}{large:>30}   ratio p50 / p95")
    met = True
    for name in names:
        for kind, samples in (("server", server), ("wall", wall)):
            low, high = samples[name, "small"], samples[name, "large"]
            cells = [f"p50 {statistics.median(s):6.1f}  p95 {_p95(s):6.1f}" for s in (low, high)]
            ratios = statistics.median(high) / statistics.median(low), _p95(high) / _p95(low)
            print(
                f"{name:<26}{kind:<8}{cells[0]:>30}{cells[1]:>30}"
                f"   {ratios[0]:4.2f}x / {ratios[1]:4.2f}x"
            )
    for name in names:
        low, high = server[name, "small"], server[name, "large"]
        met &= goal(
            issue="14",
            figure=f"console {name}, server p95 at {args.large:,} patients",
            measured=_p95(high),
            unit="ms",
            target=100,
            better="lower",
        )
        met &= goal(
            issue="14",
            figure=f"console {name}, server p95 {args.large:,} / {args.small:,} patients",
            measured=_p95(high) / _p95(low),
            unit="x",
            target=1.2,
            better="lower",
        )
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--full", action="store_true", help="10k vs 1M patients")
    parser.add_argument("--large", type=int, default=None)
    parser.add_argument("--per-practice", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-switch", type=int, default=5)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    args.large = args.large or (1_000_000 if args.full else 100_000)
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
