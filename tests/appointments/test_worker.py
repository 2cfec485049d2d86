"""The reminder task on a real Celery worker with Redis: concurrent and repeated
deliveries send each reminder exactly once, and nothing without consent.

The worker runs in a thread of the test process (celery.contrib.testing), with a
pool of threads, so that several deliveries run at the same time. Each worker
thread opens its own database connection: the test is transactional so that the
rows it commits are visible there, and the connections are closed after each
task so that the test database can be emptied and dropped."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings
from django.core import mail
from django.db import connections
from django.utils import timezone

from accounts.scoping import practice_scope
from appointments.models import Reminder
from appointments.tasks import send_reminders_task
from patients import services as patient_services
from patients.models import Consent
from secretariat.celery import app
from tests.appointments.helpers import appointment, booking_world

# The run's own Redis database when it names one (make test: db 15), else db 7.
from tests.factories import as_actor
from tests.patients.helpers import make_patient

BROKER = settings.CELERY_BROKER_URL or "redis://127.0.0.1:6379/7"
DELIVERIES = 4


class Finished:
    """Collects each task's return value from the worker (task_postrun), so the
    test needs no result backend."""

    def __init__(self) -> None:
        self._done = threading.Condition()
        self.reports: dict[str, object] = {}

    def __call__(self, task_id: str, retval: object = None, **kwargs) -> None:
        # Runs in the worker's thread after each task: its connection must not
        # outlive the test (TRUNCATE between tests, DROP DATABASE at the end).
        connections.close_all()
        with self._done:
            self.reports[task_id] = retval
            self._done.notify_all()

    def wait(self, task_ids: list[str], timeout: float = 10) -> list:
        with self._done:
            assert self._done.wait_for(lambda: set(task_ids) <= self.reports.keys(), timeout)
            return [self.reports[task_id] for task_id in task_ids]


@contextmanager
def _real_broker() -> Iterator[Finished]:
    """Point the app at Redis, not eager, and put everything back afterwards."""
    overrides = {
        "broker_url": BROKER,
        "task_always_eager": False,
        "worker_hijack_root_logger": False,
    }
    saved = {key: app.conf.get(key) for key in overrides}
    app.conf.update(overrides)
    finished = Finished()
    task_postrun.connect(finished, weak=False)
    try:
        app.control.purge()  # nothing left over from an interrupted run
        yield finished
    finally:
        task_postrun.disconnect(finished)
        app.conf.update(saved)


def _enqueue() -> str:
    """send_reminders_task.delay() on a connection of its own: the app's pooled
    publishers keep the broker they were made for (another test may have made
    them for the in-process default), and replacing them needs private API."""
    with app.connection_for_write() as connection, connection.Producer() as producer:
        return send_reminders_task.apply_async(producer=producer).id


@pytest.mark.django_db(transaction=True)
def test_reminder_task_on_real_worker_sends_each_once(world, _sms_outbox):
    setup = booking_world(world)
    by_email = setup.patient
    by_sms = make_patient(world.practice_a, email="", phone="07 98 76 54 32")
    no_consent = make_patient(world.practice_a, email="nobody@example.org", phone="06 55 44 33 22")
    with practice_scope(world.practice_a):
        for patient, purpose in (
            (by_email, Consent.Purpose.EMAIL_REMINDERS),
            (by_sms, Consent.Purpose.SMS_REMINDERS),
        ):
            patient_services.consent_record(
                actor=as_actor(world.users["telesecretary_a"]), patient=patient, purpose=purpose
            )
        start = timezone.now() + timedelta(hours=24)
        rows = {
            name: appointment(
                world.practice_a,
                setup.practitioner,
                setup.kind,
                start + timedelta(minutes=30 * offset),
                start + timedelta(minutes=30 * offset + 30),
                patient=patient,
                reason="Suivi de chimiothérapie",
            )
            for offset, (name, patient) in enumerate(
                (("email", by_email), ("sms", by_sms), ("none", no_consent))
            )
        }

    with (
        _real_broker() as finished,
        start_worker(app, pool="threads", concurrency=DELIVERIES, perform_ping_check=False),
    ):
        # Several deliveries at once (a duplicated beat, a redelivery), then one more.
        reports = finished.wait([_enqueue() for _ in range(DELIVERIES)])
        [late] = finished.wait([_enqueue()])

    assert sum(report["sent"] for report in reports) == 2
    assert sum(report["skipped"] for report in reports) == 1
    assert sum(report["failed"] for report in reports) == 0
    assert late["examined"] == 0
    assert [message.to for message in mail.outbox] == [["elodie.lefevre@example.org"]]
    assert [message.to for message in _sms_outbox] == ["+33798765432"]
    with practice_scope(world.practice_a):
        recorded = {
            reminder.appointment_id: (reminder.channel, reminder.status)
            for reminder in Reminder.objects.all()
        }
    assert recorded == {
        rows["email"].pk: ("email", "sent"),
        rows["sms"].pk: ("sms", "sent"),
        rows["none"].pk: ("none", "skipped"),
    }
