"""The lockout under parallel requests: 40 wrong attempts at once must get at most
AXES_FAILURE_LIMIT of them checked (the count and the check are one atomic step,
accounts.lockout.attempt_begin), on PostgreSQL, each request on its own thread
and database connection through the whole middleware stack."""

import threading
from collections.abc import Callable

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from accounts.roles import Role
from audit.models import AuditEvent
from tests.accounts.helpers import authenticator, otp_step, password_step
from tests.factories import PracticeFactory, UserFactory, agreement, enrol_device, grant

PARALLEL = 40

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def member():
    user = grant(UserFactory(username="julie"), Role.TELESECRETARY, PracticeFactory())
    enrol_device(user)
    user.acceptances.create(agreement=agreement())
    return user


def _in_parallel(attempt: Callable[[], int]) -> list[int]:
    """Run `attempt` on PARALLEL threads released at once; their status codes."""
    barrier = threading.Barrier(PARALLEL)
    statuses: list[int] = []

    def run():
        barrier.wait()
        try:
            statuses.append(attempt())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == PARALLEL
    return statuses


def _wrong_code() -> str:
    return f"{(int(authenticator().now()) + 1) % 1_000_000:06d}"


def test_parallel_wrong_codes_are_checked_at_most_the_limit(member):
    pending = Client()
    password_step(pending, "julie")
    cookies = pending.cookies
    wrong = _wrong_code()

    def attempt() -> int:
        client = Client()
        client.cookies = cookies
        return otp_step(client, wrong).status_code

    statuses = _in_parallel(attempt)

    checked = AuditEvent.objects.filter(action="otp_failed").count()
    assert checked <= settings.AXES_FAILURE_LIMIT, statuses
    assert statuses.count(429) >= PARALLEL - settings.AXES_FAILURE_LIMIT
    # The right code is refused too now.
    client = Client()
    client.cookies = cookies
    assert otp_step(client, authenticator().now()).status_code == 429


def test_parallel_wrong_passwords_are_checked_at_most_the_limit(member):
    statuses = _in_parallel(
        lambda: password_step(Client(), "julie", "wrong-password-123").status_code
    )

    checked = AuditEvent.objects.filter(action="login_failed").count()
    assert checked <= settings.AXES_FAILURE_LIMIT, statuses
    assert statuses.count(429) >= PARALLEL - settings.AXES_FAILURE_LIMIT
    assert password_step(Client(), "julie").status_code == 429


def test_parallel_attempts_from_many_addresses_stop_at_the_username_cap(member, settings):
    settings.AXES_USERNAME_CAP_PER_HOUR = 8
    addresses = iter(range(PARALLEL))
    lock = threading.Lock()

    def attempt() -> int:
        with lock:
            address = f"10.0.{next(addresses)}.1"
        client = Client(REMOTE_ADDR=address)
        return password_step(client, "julie", "wrong-password-123").status_code

    statuses = _in_parallel(attempt)

    assert AuditEvent.objects.filter(action="login_failed").count() <= 8, statuses
    assert password_step(Client(REMOTE_ADDR="10.9.9.9"), "julie").status_code == 429
