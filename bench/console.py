"""The call console against a real gunicorn on loopback (issue 14's figures).

    python -m bench.console                        # 2,000 patients, 50 consoles, 20 rings
    python -m bench.console --patients 20000 --consoles 200 --rings 40

1. The phone system's webhook: signed `ringing` events (a new call id each) posted
   by 1 (the baseline) and by 8 threads for --seconds; events/s accepted (every
   answer must be 202), and recorded: every accepted event a call in the database
   once the stream (console/intake.py) is empty, over the time since the first post.
2. Ring to console: --consoles other agents keep their console open (each polls
   /console/appel/ every CONSOLE_POLL_MS, as the page does), one agent's console is
   measured: the event is posted, then the time until its poll hands over the call
   (HX-Redirect) and its call page (the practice, the caller found, the slots) has
   arrived. p50/p95 with no other console open (the baseline) and with them.
3. The server time of the console's requests (its `Server-Timing` header) for the
   call page and a search, p95 over the rings, with --patients in the practice.
4. Polls answered per second by the node, --webhook-threads consoles polling without
   pause, each poll through the full view (no marker sent) or holding its marker (the
   fast path, console/ring.py); two rounds of each, interleaved.

Its own throw-away database (bench_console_<name>), created and dropped here.
"""

import argparse
import http.client
import json
import os
import re
import statistics
import sys
import threading
import time
from datetime import date, timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secretariat.settings")
os.environ.setdefault("SECRETARIAT_ENV", "test")
SECRET = "bench-cti-secret"
os.environ.update(CTI_WEBHOOK_SECRET=SECRET, CTI_RATE="1000000/s")

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from audit.context import Actor  # noqa: E402
from bench.booking import HOST, Server, _session_for  # noqa: E402
from bench.goals import goal  # noqa: E402
from console import cti, intake, ring  # noqa: E402

LINE = "+33140000001"


class SlowStartServer(Server):
    """gunicorn given longer to start: this machine is shared and loaded."""

    def _wait_ready(self, timeout: float = 240) -> None:
        super()._wait_ready(timeout)


def _create_database() -> str:
    settings_dict = connection.settings_dict
    name = f"bench_console_{settings_dict['NAME']}"
    settings_dict.setdefault("TEST", {})["NAME"] = name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    # Keys of an earlier run of the same name (a run stopped midway): its phone events
    # would be recorded into this database.
    client = ring.redis_client()
    for key in client.scan_iter(ring.key_prefix() + "*") if client else ():
        client.delete(key)
    return name


def _world(patients: int, consoles: int) -> tuple[str, list[str]]:
    """A practice on LINE with `patients` patients (phones +336 1000 0000 on) and
    consoles + 1 telesecretaries; their session cookies, the measured one first."""
    from accounts import services as account_services
    from accounts.models import ConfidentialityAgreement, User
    from accounts.roles import Role
    from accounts.scoping import practice_scope
    from appointments.services.schedule import agenda_starter_apply
    from console.models import PhoneLine
    from patients import services as patient_services
    from patients.services import Identity

    system = Actor.system("bench")
    practice = account_services.practice_create(name="Cabinet Bench", slug="bench", actor=system)
    PhoneLine.objects.create(practice=practice, number=LINE)
    agreement, _ = ConfidentialityAgreement.objects.get_or_create(
        version=1, defaults={"title": "Charte", "text": "Texte"}
    )
    doctor = User.objects.create_user(username="dr-bench", password=None)
    account_services.membership_grant(
        user=doctor, role=Role.PRACTITIONER, practice=practice, actor=system, confirmed=True
    )
    with practice_scope(practice):
        agenda_starter_apply(practice=practice, actor=system)
        for number in range(patients):
            patient_services.patient_create(
                practice=practice,
                identity=Identity(
                    last_name=f"Patient{number}",
                    first_names="Camille",
                    birth_date=date(1940, 1, 1) + timedelta(days=number % 25000),
                    phone=f"+3361{number:07d}",
                ),
                actor=system,
            )
    cookies = []
    for number in range(consoles + 1):
        user = User.objects.create_user(username=f"tele-{number}", password=None)
        account_services.membership_grant(
            user=user, role=Role.TELESECRETARY, practice=practice, actor=system, confirmed=True
        )
        user.acceptances.get_or_create(agreement=agreement)
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={_session_for(user)}")
    return practice.slug, cookies


def _call(port: int, method: str, path: str, headers: dict, body: bytes = b""):
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, response.headers
    finally:
        conn.close()


def _post_event(port: int, event: dict) -> int:
    body = json.dumps(event).encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        cti.TIMESTAMP_HEADER: stamp,
        cti.SIGNATURE_HEADER: cti.sign(SECRET, stamp, body),
    }
    return _call(port, "POST", "/cti/evenements/", headers, body)[0]


def _event(call_id: str, patients: int, number: int, agent: str = "") -> dict:
    return {
        "event": "ringing",
        "call_id": call_id,
        "caller": f"+3361{number % max(patients, 1):07d}",
        "called": LINE,
        "agent": agent,
    }


def webhook(port: int, threads: int, seconds: float, patients: int, tag: str = "w") -> dict:
    """Events accepted a second (answered 202), and recorded a second: the calls
    in the database once the stream is empty, over the time from the first post."""
    from console.models import Call

    statuses: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(worker: int) -> None:
        sent = 0
        while time.monotonic() < deadline:
            status = _post_event(port, _event(f"{tag}{threads}-{worker}-{sent}", patients, sent))
            sent += 1
            with lock:
                statuses[status] = statuses.get(status, 0) + 1

    started = time.monotonic()
    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.monotonic() - started
    while intake.pending():
        time.sleep(0.01)
    drained = time.monotonic() - started
    recorded = Call.objects.filter(call_id__startswith=f"{tag}{threads}-").count()
    return {
        "threads": threads,
        "per_s": statuses.get(202, 0) / elapsed,
        "recorded_per_s": recorded / drained,
        "recorded": recorded,
        "statuses": statuses,
    }


class Console:
    """One open console's poll, as static/js/console.js makes it: the ring marker
    of its last full answer sent back (the fast path answers 204 while it holds),
    replaced by the marker of each full answer."""

    def __init__(self, port: int, cookie: str) -> None:
        self.port = port
        self.cookie = cookie
        self.marker = ""
        self.fast = 0
        self.full = 0

    def poll(self):
        headers = {"Cookie": self.cookie, "HX-Request": "true"}
        if self.marker:
            headers[ring.HEADER] = self.marker
        status, answer = _call(self.port, "GET", "/console/appel/", headers)
        marker = answer.get(ring.HEADER)
        if marker is None:
            self.fast += 1
        else:
            self.full += 1
            self.marker = marker
        return status, answer


def _poller(console: Console, stop: threading.Event, interval: float) -> None:
    while not stop.is_set():
        console.poll()
        stop.wait(interval)


def _timing(headers) -> float:
    # The console's own `app;dur=` or, when secretariat.timing's middleware is on (benches),
    # its `db;dur=…, decrypt;…, total;dur=…`, which replaces it: the total is the server time.
    value = headers.get("Server-Timing", "")
    found = re.search(r"\btotal;dur=([0-9.]+)", value) or re.search(r"\bapp;dur=([0-9.]+)", value)
    return float(found[1]) if found else 0.0


def ring_to_console(
    port: int, cookies: list[str], consoles: int, rings: int, patients: int, tag: str
) -> dict:
    interval = settings.CONSOLE_POLL_MS / 1000
    stop = threading.Event()
    consoles_open = [Console(port, cookie) for cookie in cookies[1 : consoles + 1]]
    others = [
        threading.Thread(target=_poller, args=(console, stop, interval), daemon=True)
        for console in consoles_open
    ]
    for thread in others:
        thread.start()
    mine = Console(port, cookies[0])
    mine.poll()
    shown, server_ms = [], []
    try:
        time.sleep(min(2.0, interval * 2) if consoles else 0)
        for ring in range(rings):
            started = time.monotonic()
            call_id = f"{tag}-{ring}"
            assert _post_event(port, _event(call_id, patients, ring * 7, agent="tele-0")) == 202
            # The console polls on its own clock: the ring lands anywhere in its interval.
            time.sleep((ring % 10) / 10 * interval)
            while True:
                status, headers = mine.poll()
                target = headers.get("HX-Redirect")
                if target:
                    break
                time.sleep(interval)
            status, headers = _call(port, "GET", target, {"Cookie": cookies[0]})
            assert status == 200, status
            shown.append(time.monotonic() - started)
            server_ms.append(_timing(headers))
            _post_event(port, {**_event(call_id, patients, 0), "event": "ended"})
            # The call page's console starts afresh: its first poll is a full one,
            # then it holds the marker that the next ring moves.
            mine.marker = ""
            mine.poll()
    finally:
        stop.set()
        for thread in others:
            thread.join()
    polls = [console.fast for console in consoles_open], [c.full for c in consoles_open]
    return {
        "consoles": consoles,
        "fast": sum(polls[0]),
        "full": sum(polls[1]),
        "p50_ms": statistics.median(shown) * 1000,
        "p95_ms": _p95(shown) * 1000,
        "server_p95_ms": _p95(server_ms),
    }


def poll_rate(port: int, cookies: list[str], threads: int, seconds: float, fast: bool) -> dict:
    """Polls answered per second by the node, `threads` consoles polling without
    pause: holding their marker (the fast path) or not (each poll the full view)."""
    counts = [0] * threads
    deadline = time.monotonic() + seconds

    def run(worker: int) -> None:
        console = Console(port, cookies[1 + worker % (len(cookies) - 1)])
        console.poll()
        while time.monotonic() < deadline:
            if not fast:
                console.marker = ""
            status, _headers = console.poll()
            assert status == 204, status
            counts[worker] += 1

    started = time.monotonic()
    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return {"fast": fast, "per_s": sum(counts) / (time.monotonic() - started)}


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--consoles", type=int, default=50)
    parser.add_argument("--rings", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--webhook-threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    args = parser.parse_args()
    database = _create_database()
    server = None
    try:
        slug, cookies = _world(args.patients, args.consoles)
        connection.close()
        server = SlowStartServer(database, args.workers, args.threads, pool=True)
        print(
            f"gunicorn {HOST}:{server.port}, {args.workers} workers x {args.threads} threads; "
            f"{args.patients} patients; consoles poll every {settings.CONSOLE_POLL_MS} ms",
            flush=True,
        )
        # Every worker process warmed up (imports, connections, the practice's keys)
        # before anything is measured: a single event reached one worker, and the
        # one-thread figure then timed the others' first requests.
        webhook(server.port, args.webhook_threads, 2.0, args.patients, tag="warm")
        hooks = [
            webhook(server.port, threads, args.seconds, args.patients)
            for threads in (1, args.webhook_threads)
        ]
        rings = [
            ring_to_console(server.port, cookies, count, args.rings, args.patients, f"r{count}")
            for count in (0, args.consoles)
        ]
        # Interleaved, full first: a round of each, twice.
        polls = [
            poll_rate(server.port, cookies, args.webhook_threads, args.seconds / 2, fast)
            for _round in range(2)
            for fast in (False, True)
        ]
    finally:
        if server is not None:
            server.stop()
    try:
        failed = False
        print(
            f"\n{'webhook threads':>15} {'accepted/s':>10} {'ratio':>6} {'recorded/s':>10}  answers"
        )
        for hook in hooks:
            failed |= set(hook["statuses"]) != {202}
            failed |= hook["recorded"] != hook["statuses"].get(202)
            ratio = hook["per_s"] / hooks[0]["per_s"]
            print(
                f"{hook['threads']:>15} {hook['per_s']:>10.0f} {ratio:>5.2f}x"
                f" {hook['recorded_per_s']:>10.0f}  {hook['statuses']}, {hook['recorded']} recorded"
            )
        header = f"{'ring->shown p50':>15} {'p95':>7} {'ratio':>6} {'server p95':>10}"
        print(f"\n{'open consoles':>13} {header}")
        for measured in rings:
            ratio = measured["p95_ms"] / rings[0]["p95_ms"]
            print(
                f"{measured['consoles']:>13} {measured['p50_ms']:>13.0f}ms "
                f"{measured['p95_ms']:>5.0f}ms {ratio:>5.2f}x {measured['server_p95_ms']:>8.1f}ms"
                f"  other consoles' polls: {measured['fast']} fast, {measured['full']} full"
            )
        full = [rate["per_s"] for rate in polls if not rate["fast"]]
        quick = [rate["per_s"] for rate in polls if rate["fast"]]
        print(
            f"\npolls answered/s, {args.webhook_threads} consoles polling without pause:"
            f" full view {' '.join(f'{rate:.0f}' for rate in full)},"
            f" fast path {' '.join(f'{rate:.0f}' for rate in quick)}"
            f" ({statistics.median(quick) / statistics.median(full):.1f}x)"
        )
        print(
            "\nring->shown: the event posted, the measured console's next poll hands the call"
            " over, its call page (practice, caller found, slots) received; server p95: that"
            " page's Server-Timing."
        )
        _goals(hooks[-1], rings)
    finally:
        connection.creation.destroy_test_db(database, verbosity=0)
    return 1 if failed else 0


def _goals(hook: dict, rings: list[dict]) -> None:
    """Issue 14's figures against its goals, as printed above."""
    goal(
        issue="14",
        figure=f"webhook, signed events accepted, {hook['threads']} threads",
        measured=hook["per_s"],
        unit="events/s",
        target=500,
        better="higher",
    )
    goal(
        issue="14",
        figure=f"webhook, signed events recorded, {hook['threads']} threads",
        measured=hook["recorded_per_s"],
        unit="events/s",
        target=500,
        better="higher",
    )
    measured = rings[-1]
    goal(
        issue="14",
        figure=f"ring to console shown, p95, {measured['consoles']} other consoles open",
        measured=measured["p95_ms"],
        unit="ms",
        target=1000,
        better="lower",
    )
    for measured in rings:
        goal(
            issue="14",
            figure=f"call page server time p95, {measured['consoles']} other consoles open",
            measured=measured["server_p95_ms"],
            unit="ms",
            target=100,
            better="lower",
        )


if __name__ == "__main__":
    sys.exit(main())
