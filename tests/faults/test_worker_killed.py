"""A worker killed mid-send loses no reminder silently and sends none twice
(issue 12, defect 4).

A real Celery worker process over the run's Redis broker takes the reminder
task. Its SMS gateway is a named pipe nobody reads, so the send blocks right
after the reminder was claimed (committed). The worker is killed (SIGKILL). Its
message, acknowledged late, goes back to the queue and a second worker runs the
task again: it sends nothing, the claim is there. The claim, never confirmed,
becomes a stuck reminder: alerted, listed, and sent once when a telesecretary
asks for it."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from celery.backends.redis import RedisBackend
from celery.result import AsyncResult
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.scoping import practice_scope
from appointments import sms
from appointments.models import Reminder
from appointments.tasks import send_reminders_task
from compliance.detectors import detect_stuck_reminders
from compliance.models import Alert
from patients import services as patient_services
from patients.models import Consent
from secretariat.celery import app
from tests.appointments.helpers import appointment, booking_world
from tests.dbroles import login_url
from tests.factories import as_actor
from tests.faults.helpers import wait_for
from tests.faults.helpers import worker as worker_thread
from tests.patients.helpers import make_patient
from tests.scoping import every_practice

pytestmark = [
    pytest.mark.real_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.CELERY_BROKER_URL, reason="needs a Redis broker"),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="workers share the database"),
]


def _database_url() -> str:
    # The worker logs in as the application role itself, as in production.
    return login_url(connection.settings_dict)


@contextmanager
def worker_process(name: str, sms_file: Path) -> Iterator[subprocess.Popen]:
    """`celery worker` in its own process on the test database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.faults.worker_settings",
        "DATABASE_URL": _database_url(),
        "SMS_BACKEND": "appointments.sms.FileBackend",
        "SMS_FILE_PATH": str(sms_file),
        "PYTHONPATH": str(settings.BASE_DIR),
    }
    command = [sys.executable, "-m", "celery", "-A", "secretariat", "worker", "--pool=solo"]
    command += ["--without-gossip", "--without-mingle", "--loglevel=WARNING", "-n", f"{name}@%h"]
    process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)


def _claims() -> list[str]:
    with every_practice():
        return list(Reminder.objects.values_list("status", flat=True))


@pytest.fixture
def due_sms_reminder(world):
    setup = booking_world(world)
    patient = make_patient(world.practice_a, email="", phone="06 12 34 56 78")
    start = timezone.now() + timedelta(hours=24)
    with practice_scope(world.practice_a):
        patient_services.consent_record(
            patient=patient,
            purpose=Consent.Purpose.SMS_REMINDERS,
            actor=as_actor(world.users["telesecretary_a"]),
        )
        return appointment(
            world.practice_a,
            setup.practitioner,
            setup.kind,
            start,
            start + timedelta(minutes=30),
            patient=patient,
        )


@pytest.fixture
def results() -> Iterator[RedisBackend]:
    """The workers' result backend (tests/faults/worker_settings.py), read here
    without touching the app's own (cached) backend."""
    backend = RedisBackend(app=app, url=settings.CELERY_BROKER_URL)
    yield backend


@pytest.fixture
def sms_outbox(settings):
    settings.SMS_BACKEND = "appointments.sms.LocmemBackend"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


def test_worker_killed_mid_send_loses_nothing_silently_and_sends_nothing_twice(
    world, due_sms_reminder, results, tmp_path, sms_outbox
):
    gateway = tmp_path / "gateway"
    os.mkfifo(gateway)  # nobody reads it: the send blocks
    delivered = tmp_path / "delivered.jsonl"
    app.control.purge()

    with worker_process("killed", gateway) as killed:
        with app.connection_for_write() as broker, broker.Producer() as producer:
            task_id = send_reminders_task.apply_async(producer=producer).id
        wait_for(lambda: _claims() == ["pending"], what="the claim, committed before the send")
        killed.send_signal(signal.SIGKILL)
        killed.wait(30)

    with worker_process("second", delivered):
        # The same message, redelivered: the run finds the claim and sends nothing.
        report = AsyncResult(task_id, backend=results).get(timeout=60)
        results.forget(task_id)
    assert report == {"examined": 0, "sent": 0, "skipped": 0, "already": 0, "failed": 0}
    assert not delivered.exists()
    assert _claims() == ["pending"]

    # A quarter of an hour later: alerted, listed, resent once by a person.
    later = timezone.now() + Reminder.STUCK_AFTER
    assert detect_stuck_reminders(now=later) == 1
    assert Alert.objects.get(kind=Alert.Kind.REMINDER_STUCK).detail == {"count": 1}
    with every_practice():
        Reminder.objects.update(claimed_at=timezone.now() - Reminder.STUCK_AFTER)
        [stuck] = Reminder.objects.all()
    client = world.client("telesecretary_a")
    url = reverse("appointments:reminders_to_check", args=[world.practice_a.slug])
    assert "06 12 34 56 78" not in client.get(url).content.decode()
    assert f"/rappels/{stuck.pk}/renvoyer/" in client.get(url).content.decode()
    with worker_thread():
        response = client.post(
            reverse("appointments:reminder_resend", args=[world.practice_a.slug, stuck.pk])
        )
        assert response.status_code == 302
        wait_for(lambda: _claims() == ["sent"], what="the resent reminder")
    assert [message.to for message in sms_outbox] == ["+33612345678"]
