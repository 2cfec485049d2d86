"""The pooled, stateless web tier (docs/scaling.md): PgBouncer in transaction mode
in front of PostgreSQL, and two web nodes sharing sessions, the lockout and the
exclusion constraint through it. Real processes, real pooler, real database."""

import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from accounts.scoping import PRACTICE_SETTING, practice_scope
from appointments.forms import slot_value
from appointments.models import Appointment
from patients.models import Patient
from tests import dbroles
from tests.appointments.helpers import at, booking_world
from tests.patients.helpers import make_patient
from tests.personas import verified_client
from tests.scaling.nodes import pgbouncer, pgbouncer_binary, pooled_url, web_node

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL topology"),
    pytest.mark.skipif(pgbouncer_binary() is None, reason="pgbouncer is installed by make test"),
]


@pytest.fixture
def pooler():
    if not dbroles.enabled():
        pytest.skip("needs the database roles (a superuser DATABASE_URL)")
    with pgbouncer(pool_size=1) as port:
        yield port


def test_the_practice_setting_never_outlives_its_transaction_behind_the_pooler(world, pooler):
    make_patient(world.practice_a)
    # One server connection for every client: the second client gets the very
    # connection the first one set the practice on.
    with psycopg.connect(pooled_url(pooler), autocommit=True) as first:
        with first.transaction():
            first.execute(
                "SELECT set_config(%s, %s, true)", [PRACTICE_SETTING, str(world.practice_a.pk)]
            )
            seen = first.execute("SELECT count(*) FROM patients_patient").fetchone()[0]
        backend = first.execute("SELECT pg_backend_pid()").fetchone()[0]
    with psycopg.connect(pooled_url(pooler), autocommit=True) as second:
        assert second.execute("SELECT pg_backend_pid()").fetchone()[0] == backend
        after = second.execute("SELECT count(*) FROM patients_patient").fetchone()[0]
    assert seen == 1
    assert after == 0  # fail closed: no practice set, no row


class Node:
    """A browser-like client of one web node, with the session of `client`."""

    def __init__(self, base: str, client) -> None:
        self.base = base
        self.csrf = secrets.token_hex(16)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        self.cookie = (
            f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={self.csrf}"
        )

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body)  # noqa: S310 - our node
        request.add_header("Cookie", self.cookie)
        request.add_header("X-CSRFToken", self.csrf)
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _slot_url(world, setup, patient) -> str:
    return reverse(
        "appointments:book_slot",
        kwargs={
            "practice": world.practice_a.slug,
            "patient": patient.pk,
            "appointment_type": setup.kind.pk,
        },
    )


def test_two_nodes_share_the_session_and_one_booking_race_has_one_winner(world, pooler):
    setup = booking_world(world)
    other = make_patient(world.practice_a, last_name="Second")
    client = verified_client(world.users["telesecretary_a"])
    slot = slot_value(setup.practitioner.pk, at(setup.monday, 10).astimezone(UTC))
    with web_node(pooled_url(pooler)) as one, web_node(pooled_url(pooler)) as two:
        nodes = [Node(one, client), Node(two, client)]
        agenda = reverse("accounts:practice_home", kwargs={"practice": world.practice_a.slug})
        # One session, logged in once, valid on both nodes, whose connections (kept
        # between requests, as in production) share one server connection.
        statuses = {node.request(agenda)[0] for _ in range(8) for node in nodes}
        assert statuses == {200}
        barrier = threading.Barrier(2)
        outcomes: list[int] = []

        def book(node: Node, patient) -> None:
            barrier.wait(timeout=30)
            status, _ = node.request(_slot_url(world, setup, patient), {"slot": slot, "reason": ""})
            outcomes.append(status)

        threads = [
            threading.Thread(target=book, args=(nodes[0], setup.patient)),
            threading.Thread(target=book, args=(nodes[1], other)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)
    assert sorted(outcomes) == [302, 409]
    with practice_scope(world.practice_a):
        assert Appointment.objects.filter(practice=world.practice_a).count() == 1
        assert Patient.objects.filter(practice=world.practice_a).count() == 2
