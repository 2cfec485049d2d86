"""Booking throughput over HTTP with concurrent telesecretaries, against a real
gunicorn server on loopback.

    python -m bench.booking                  # 1 (baseline), 4 and 16 clients, <= 20 s each
    python -m bench.booking --full           # 1, 4, 16 and 32 clients, <= 60 s each
    python -m bench.booking --clients 1 8 --seconds 10 --attempts 200

Each configuration gets a fresh practice (empty calendar: the same work for every
run) with one practitioner on the starter agenda, one telesecretary per client
and one patient per client, all made through the services. Clients are logged in
the way tests/personas.verified_client does it (a database session holding the
auth, OTP and session-clock keys, plus its UserSession row), then each one loops:
GET the proposals page, POST a booking of one of the first few proposed slots.
Clients aim at the same few slots on purpose: contention shows as 409 "slot
taken" answers, never as errors. Errors (5xx, connection failures, unexpected
answers) must be 0.

Runs in its own throw-away database (bench_booking_<DATABASE name>), created and
dropped here; the gunicorn server (started and stopped here) binds 127.0.0.1 only.
Ratios are against the single-client run measured in the same invocation.
"""

import argparse
import html
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.cookies import SimpleCookie
from random import Random
from urllib.parse import urlencode, urlsplit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secretariat.settings")
os.environ.setdefault("SECRETARIAT_ENV", "test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from audit.context import Actor  # noqa: E402
from bench.goals import goal  # noqa: E402

HOST = "127.0.0.1"
CONTENDED = 3  # by default clients pick among the first 3 proposals: they collide
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_SLOT = re.compile(r'name="slot" value="([^"]+)"')


# --- database and server -----------------------------------------------------------


def _create_database() -> str:
    settings_dict = connection.settings_dict
    name = f"bench_booking_{settings_dict['NAME']}"
    settings_dict.setdefault("TEST", {})["NAME"] = name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    return name


def _database_url(name: str) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench.booking needs DATABASE_URL=postgres://... (PostgreSQL).")
    return urlsplit(url)._replace(path=f"/{name}", query="").geturl()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn on 127.0.0.1, serving the bench database; stopped on exit."""

    def __init__(
        self, database: str, workers: int, threads: int, pool: bool, env: dict | None = None
    ) -> None:
        """`env` overrides the server's environment (bench.topology: another
        database URL, through a pooler or as another role)."""
        self.port = _free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="bench-booking-", suffix=".log")  # noqa: SIM115
        env = os.environ | {
            "DATABASE_URL": _database_url(database),
            "DATABASE_POOL": "true" if pool else "false",
            "SECRETARIAT_ENV": "test",
            "ALLOWED_HOSTS": HOST,
            "SERVER_TIMING": "true",  # each answer says its cost (secretariat/timing.py)
            **(env or {}),
        }
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "secretariat.wsgi:application",
            "--bind",
            f"{HOST}:{self.port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--backlog",
            "256",
            "--error-logfile",
            "-",
        ]
        self.process = subprocess.Popen(  # noqa: S603
            command,
            env=env,
            cwd=settings.BASE_DIR,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited:\n{self.tail()}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", "/connexion/")
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"gunicorn did not answer within {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        with open(self.log.name, encoding="utf-8", errors="replace") as log:
            return "".join(log.readlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# --- the practice and its logged-in telesecretaries --------------------------------


@dataclass
class Desk:
    """One client: a telesecretary's session cookie and the page to book from."""

    cookie: str
    path: str


def _session_for(user) -> str:
    """A verified session, as tests/personas.verified_client makes it: the keys
    django.contrib.auth.login and django-otp's login would write, the session
    clock, and the UserSession row the session policy checks."""
    from importlib import import_module

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.utils import timezone
    from django_otp import DEVICE_ID_SESSION_KEY

    from accounts.models import TOTPDevice, UserSession
    from accounts.sessions import SESSION_LAST_SEEN, SESSION_STARTED

    device = TOTPDevice(user=user, name="TOTP", confirmed=True)
    device.save()
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    now = timezone.now().isoformat()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[SESSION_STARTED] = now
    session[SESSION_LAST_SEEN] = now
    session.create()
    UserSession.objects.create(user=user, session_key=session.session_key)
    return session.session_key


def _practice_with_desks(label: str, clients: int) -> list[Desk]:
    from django.urls import reverse

    from accounts import services as account_services
    from accounts.models import ConfidentialityAgreement, User
    from accounts.roles import Role
    from accounts.scoping import practice_scope
    from appointments.models import AppointmentType
    from appointments.services.schedule import agenda_starter_apply
    from patients import services as patient_services
    from patients.services import Identity

    practice = account_services.practice_create(
        name=f"Cabinet {label}", slug=f"bench-{label}", actor=Actor.system("bench")
    )
    agreement, _ = ConfidentialityAgreement.objects.get_or_create(
        version=1, defaults={"title": "Charte", "text": "Texte"}
    )
    doctor = User.objects.create_user(username=f"dr-{label}", password=None)
    account_services.membership_grant(
        user=doctor,
        role=Role.PRACTITIONER,
        practice=practice,
        actor=Actor.system("bench"),
        confirmed=True,
    )
    with practice_scope(practice):
        agenda_starter_apply(practice=practice, actor=Actor.system("bench"))
        kind = AppointmentType.objects.filter(practice=practice, name="Consultation").get()
        patients = [
            patient_services.patient_create(
                practice=practice,
                identity=Identity(
                    last_name=f"Patient{number}",
                    first_names="Camille",
                    birth_date=date(1970, 1, 1) + timedelta(days=number),
                    phone=f"+3361234{number:04d}",
                ),
                actor=Actor.system("bench"),
            )
            for number in range(clients)
        ]
    desks = []
    for number, patient in enumerate(patients):
        user = User.objects.create_user(username=f"tele-{label}-{number}", password=None)
        account_services.membership_grant(
            user=user,
            role=Role.TELESECRETARY,
            practice=practice,
            actor=Actor.system("bench"),
            confirmed=True,
        )
        user.acceptances.get_or_create(agreement=agreement)
        path = reverse("appointments:book_slot", args=[practice.slug, patient.pk, kind.pk])
        cookie = f"{settings.SESSION_COOKIE_NAME}={_session_for(user)}"
        desks.append(Desk(cookie=cookie, path=path))
    return desks


# --- the clients -------------------------------------------------------------------


@dataclass
class Tally:
    booked: int = 0
    taken: int = 0  # 409: the slot went to another client
    refused: int = 0  # other 4xx
    errors: int = 0  # 5xx, connection failures, unexpected answers
    attempts: int = 0
    post_seconds: list[float] = field(default_factory=list)
    first_error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, other: "Tally") -> None:
        with self.lock:
            self.booked += other.booked
            self.taken += other.taken
            self.refused += other.refused
            self.errors += other.errors
            self.attempts += other.attempts
            self.post_seconds += other.post_seconds
            self.first_error = self.first_error or other.first_error


class Budget:
    """A shared cap on booking attempts, and a deadline."""

    def __init__(self, attempts: int, seconds: float) -> None:
        self._left = attempts
        self._lock = threading.Lock()
        self.deadline = time.monotonic() + seconds

    def take(self) -> bool:
        with self._lock:
            if self._left <= 0 or time.monotonic() >= self.deadline:
                return False
            self._left -= 1
            return True


def _request(port: int, method: str, path: str, cookies: dict[str, str], body: str = ""):
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    if body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", errors="replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                cookies[name] = morsel.value
        return response.status, response.getheader("Location", ""), text
    finally:
        conn.close()


def _client(port: int, desk: Desk, budget: Budget, seed: int, total: Tally, contended: int) -> None:
    rng = Random(seed)
    mine = Tally()
    name, _sep, value = desk.cookie.partition("=")
    cookies = {name: value}
    while budget.take():
        mine.attempts += 1
        try:
            status, _where, page = _request(port, "GET", desk.path, cookies)
            token, slots = _CSRF.search(page), _SLOT.findall(page)
            if status != 200 or not token or not slots:
                mine.errors += 1
                mine.first_error = mine.first_error or f"GET {status}"
                continue
            form = {
                "csrfmiddlewaretoken": html.unescape(token.group(1)),
                "slot": html.unescape(rng.choice(slots[:contended])),
                "reason": "Renouvellement",
            }
            started = time.perf_counter()
            status, where, _page = _request(port, "POST", desk.path, cookies, urlencode(form))
            mine.post_seconds.append(time.perf_counter() - started)
        except (OSError, http.client.HTTPException) as failure:
            mine.errors += 1
            mine.first_error = mine.first_error or type(failure).__name__
            continue
        if status == 302 and "/rendez-vous/" in where:
            mine.booked += 1
        elif status == 409:
            mine.taken += 1
        elif 400 <= status < 500:
            mine.refused += 1
            mine.first_error = mine.first_error or f"POST {status}"
        else:
            mine.errors += 1
            mine.first_error = mine.first_error or f"POST {status} {where}"
    total.add(mine)


def run_configuration(
    port: int, desks: list[Desk], attempts: int, seconds: float, contended: int = CONTENDED
) -> dict:
    budget = Budget(attempts, seconds)
    total = Tally()
    threads = [
        threading.Thread(target=_client, args=(port, desk, budget, number, total, contended))
        for number, desk in enumerate(desks)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    posts = sorted(total.post_seconds) or [0.0]
    return {
        "clients": len(desks),
        "elapsed": elapsed,
        "attempts": total.attempts,
        "booked": total.booked,
        "taken": total.taken,
        "refused": total.refused,
        "errors": total.errors,
        "first_error": total.first_error,
        "bookings_per_s": total.booked / elapsed,
        "attempts_per_s": total.attempts / elapsed,
        "post_p50_ms": statistics.median(posts) * 1e3,
        "post_p95_ms": posts[int(len(posts) * 0.95) - 1 if len(posts) > 1 else 0] * 1e3,
    }


def _booked_once(label: str) -> tuple[int, int]:
    """(appointments, distinct slots) of a configuration's practice: equal, or
    the double-booking guard failed."""
    from accounts.models import Practice
    from accounts.scoping import practice_scope
    from appointments.models import Appointment

    practice = Practice.objects.get(slug=f"bench-{label}")
    with practice_scope(practice):
        rows = Appointment.objects.filter(practice=practice)
        return rows.count(), rows.values("practitioner", "start").distinct().count()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="1, 4, 16, 32 clients, 60 s each")
    parser.add_argument("--clients", type=int, nargs="+", default=None)
    parser.add_argument("--seconds", type=float, default=None, help="cap per configuration")
    parser.add_argument("--attempts", type=int, default=None, help="bookings tried, cap")
    parser.add_argument(
        "--contended", type=int, default=CONTENDED, help="clients pick among the first N slots"
    )
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument(
        "--no-pool", action="store_true", help="without the psycopg pool (on in production)"
    )
    args = parser.parse_args()
    clients = args.clients or ([1, 4, 16, 32] if args.full else [1, 4, 16])
    if 1 not in clients:
        clients = [1, *clients]  # the baseline
    seconds = args.seconds or (60.0 if args.full else 20.0)
    attempts = args.attempts or (3000 if args.full else 400)

    database = _create_database()
    server = None
    try:
        desks = {count: _practice_with_desks(f"c{count}", count) for count in clients}
        connection.close()
        server = Server(database, args.workers, args.threads, pool=not args.no_pool)
        print(
            f"gunicorn {HOST}:{server.port}, {args.workers} workers x {args.threads} thread(s), "
            f"pool {'off' if args.no_pool else 'on'}; per configuration <= {attempts} "
            f"booking attempts or {seconds:.0f} s; clients aim at the first "
            f"{args.contended} proposals",
            flush=True,
        )
        # Warm-up: each worker imports, compiles templates and opens connections.
        run_configuration(server.port, desks[clients[0]][:1], attempts=5, seconds=10)
        results = [
            run_configuration(server.port, desks[count], attempts, seconds, args.contended)
            for count in clients
        ]
    finally:
        if server is not None:
            server.stop()
    try:
        print()
        print(
            f"{'clients':>7} {'attempts':>8} {'booked':>7} {'409':>5} {'4xx':>4} {'errors':>6} "
            f"{'bookings/s':>10} {'ratio':>6} {'attempts/s':>10} {'POST p50':>9} {'p95':>8}"
        )
        baseline = next(r for r in results if r["clients"] == 1)["bookings_per_s"]
        failed = False
        for r in results:
            count, distinct = _booked_once(f"c{r['clients']}")
            # The warm-up booked at most 5 slots in the baseline's practice.
            failed |= r["errors"] > 0 or count != distinct
            print(
                f"{r['clients']:>7} {r['attempts']:>8} {r['booked']:>7} {r['taken']:>5} "
                f"{r['refused']:>4} {r['errors']:>6} {r['bookings_per_s']:>10.1f} "
                f"{r['bookings_per_s'] / baseline:>5.2f}x {r['attempts_per_s']:>10.1f} "
                f"{r['post_p50_ms']:>7.0f}ms {r['post_p95_ms']:>6.0f}ms"
                + (f"   first error: {r['first_error']}" if r["first_error"] else "")
                + ("" if count == distinct else f"   DOUBLE BOOKING: {count} rows {distinct} slots")
            )
        print(
            "\nbooked = 302 to the new appointment; 409 = slot taken by another client "
            "(expected under contention); errors = 5xx or connection failures (must be 0)."
        )
        goal(
            issue="4",
            figure=f"booking errors (5xx, connection failures), {', '.join(map(str, clients))}"
            " clients",
            measured=sum(r["errors"] for r in results),
            unit="errors",
            target=0,
            better="lower",
        )
    finally:
        connection.creation.destroy_test_db(database, verbosity=0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
