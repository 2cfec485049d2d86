"""The transactional outbox: a task exists if and only if its transaction
commits, carries identifiers only, and is published once per row."""

import threading
import uuid

import pytest
from django.db import connection, transaction
from django.utils import timezone

from compliance.models import Notice
from outbox import services
from outbox.models import OutboxTask
from tests.faults.helpers import broker_down

TASK = "compliance.tasks.notice_mail"


@pytest.mark.django_db
def test_enqueue_refuses_anything_but_identifiers():
    for value in ("Martin", {"id": 1}, 1.5, True, "06 12 34 56 78"):
        with pytest.raises((TypeError, ValueError)):
            services.enqueue(TASK, notice_id=value)
    key = uuid.uuid4()
    row = services.enqueue(TASK, notice_id=3, patient_id=str(key))
    assert row.kwargs == {"notice_id": 3, "patient_id": str(key)}


@pytest.mark.django_db
def test_enqueue_refuses_a_name_that_is_no_task():
    from celery.exceptions import NotRegistered

    with pytest.raises(NotRegistered):
        services.enqueue("compliance.tasks.no_such_task", notice_id=1)


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_enqueues_nothing(mailoutbox, world):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.enqueue(TASK, notice_id=1)
        raise RuntimeError
    assert not OutboxTask.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_committed_row_runs_once_and_is_removed(world, settings, mailoutbox):
    world.users["compliance_officer"].email = "dpo@example.org"
    world.users["compliance_officer"].save()
    with transaction.atomic():
        notice = Notice.objects.create(
            key="k1", recipient=world.users["compliance_officer"], kind=Notice.Kind.ALERT
        )
        services.enqueue(TASK, notice_id=notice.pk)
    assert [m.to for m in mailoutbox] == [["dpo@example.org"]]
    assert not OutboxTask.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_sweep_stops_at_the_first_broker_failure_and_keeps_every_row(world):
    with broker_down():
        for notice_id in (1, 2, 3):
            services.enqueue(TASK, notice_id=notice_id)
        OutboxTask.objects.update(available_at=timezone.now())
        assert services.relay_due() == 0
    now = timezone.now()
    rows = [(row.attempts, row.available_at > now) for row in OutboxTask.objects.order_by("id")]
    # Each failed once at its commit; the sweep tried the oldest only, and put it off.
    assert rows == [(2, True), (1, False), (1, False)]


@pytest.mark.django_db(transaction=True)
def test_a_row_being_relayed_is_not_published_by_another_relay(world):
    with transaction.atomic():
        row = OutboxTask.objects.create(task=TASK, kwargs={"notice_id": 1})
    locked, release = threading.Event(), threading.Event()

    def hold_the_row():
        with transaction.atomic():
            OutboxTask.objects.select_for_update().get(pk=row.pk)
            locked.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert locked.wait(10)
        assert services.relay(row_id=row.pk) is services.Relayed.ABSENT
    finally:
        release.set()
        holder.join()
    assert OutboxTask.objects.filter(pk=row.pk).exists()
