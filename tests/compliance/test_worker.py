"""Tasks on a real Celery worker over Redis (CELERY_BROKER_URL, e.g.
redis://127.0.0.1:6379/6): the purge removes exactly what has expired, and
a notice is mailed exactly once when its task runs several times at once."""

import threading
import time

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings
from django.db import connection
from django.utils import timezone

from appointments.models import Appointment, CallMessage, Reminder
from audit.models import AuditEvent
from compliance import incidents, retention, tasks
from compliance.models import Notice
from secretariat.celery import app
from tests.compliance.helpers import aged_rows, announced_long_ago
from tests.factories import as_actor
from tests.personas import build_world
from tests.scoping import every_practice

pytestmark = [
    pytest.mark.real_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.CELERY_BROKER_URL, reason="needs a Redis broker"),
]


class Finished:
    """Task ids finished by the worker (its threads run in this process)."""

    def __init__(self):
        self.ids: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, sender=None, task_id=None, **kwargs):
        with self.lock:
            self.ids.append(task_id)
        connection.close()  # the worker thread's own connection

    def wait(self, ids, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if set(ids) <= set(self.ids):
                    return
            time.sleep(0.05)
        raise AssertionError(f"tasks not finished: {ids}")


@pytest.fixture
def worker():
    finished = Finished()
    task_postrun.connect(finished, weak=False)
    app.conf.task_always_eager = False
    app.control.purge()  # messages left by earlier runs
    try:
        with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False):
            yield finished
    finally:
        task_postrun.disconnect(finished)
        app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER


def _ids(model, ids):
    with every_practice():
        return set(model.objects.filter(pk__in=ids).values_list("pk", flat=True))


def test_purge_on_a_real_worker_removes_exactly_what_has_expired(worker):
    world = build_world()
    a = aged_rows(world, "a", ages_days=[400, 200, 60, 5])
    b = aged_rows(world, "b", ages_days=[400, 10])
    announced_long_ago(world.practice_a, world.practice_b)
    expected = sum(retention.purge_report(world.practice_a).values()) + sum(
        retention.purge_report(world.practice_b).values()
    )
    # Two purges at once, as from two beat instances: they share the rows.
    first, second = tasks.purge_expired.delay(), tasks.purge_expired.delay()
    worker.wait([first.id, second.id])
    assert _ids(Appointment, a["appointments"]) == set(a["appointments"][1:])
    assert _ids(CallMessage, a["call_messages"]) == set(a["call_messages"][2:])
    assert _ids(Reminder, a["reminders"]) == set(a["reminders"][2:])
    assert _ids(Appointment, b["appointments"]) == {b["appointments"][1]}
    assert _ids(CallMessage, b["call_messages"]) == {b["call_messages"][1]}
    purged = AuditEvent.objects.filter(action="purge")
    assert sum(event.detail["count"] for event in purged) == expected == 8


def test_practice_notices_mailed_once_when_the_mail_task_runs_twice_at_once(
    worker, settings, mailoutbox
):
    world = build_world()
    for user in world.users.values():
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
    incidents.incident_declare(
        actor=as_actor(world.users["compliance_officer"]),
        practices=[world.practice_a, world.practice_b],
        detected_at=timezone.now(),
        nature="n",
        data_categories="d",
        people_categories="p",
        approx_people=1,
        approx_records=1,
        likely_consequences="c",
        measures_taken="m",
    )  # its own hand-over (after commit) is a third run of each
    runs = [
        tasks.notice_mail.delay(notice_id)
        for notice_id in Notice.objects.values_list("pk", flat=True)
        for _ in range(2)
    ]
    worker.wait([run.id for run in runs])
    deadline = time.monotonic() + 30
    while Notice.objects.filter(mail=Notice.Mail.PENDING).exists() or len(mailoutbox) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    recipients = sorted(m.to[0] for m in mailoutbox)
    assert recipients == ["dr_a@example.org", "dr_b@example.org", "manager_a@example.org"]
