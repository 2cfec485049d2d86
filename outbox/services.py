"""The transactional outbox: the follow-up work of a committed action survives
a broker outage, and a broker outage never turns a committed action into an error.

`enqueue("app.tasks.name", some_id=1)` writes an OutboxTask row in the caller's
transaction: the task exists if and only if the change it follows up commits.
After the commit, `relay()` hands it to Celery and deletes the row; when the
broker is unreachable the row stays (its attempt recorded) and the periodic
sweep `relay_due()` (beat, every minute) hands it over once the broker is back.
Publishing happens under the row's lock, so the on-commit relay and the sweep
never both publish a row; a crash between the publish and the row's deletion
publishes it again, which every task tolerates (tasks are idempotent).

This is the only place the project hands a task to the broker (a test checks
there is no `.delay()`, `.apply_async()` or `delay_on_commit()` elsewhere):
Celery's `delay_on_commit()` would lose the task on a broker outage and raise
after the commit, which is the fault the outbox removes.
"""

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from enum import StrEnum
from functools import partial
from importlib import import_module

from celery import Task as CeleryTask
from celery import current_app
from django.db import transaction
from django.utils import timezone
from kombu import Connection

from outbox.models import OutboxTask

logger = logging.getLogger(__name__)

RETRY_AFTER = timedelta(minutes=1)
RETRY_AFTER_MAX = timedelta(minutes=10)
SWEEP_BATCH = 500


class Relayed(StrEnum):
    PUBLISHED = "published"
    ABSENT = "absent"  # published by another relay, or being published now
    FAILED = "failed"  # the broker refused or was unreachable: the row stays


def enqueue(task: str, **ids: int | str | uuid.UUID) -> OutboxTask:
    """Record `task(**ids)` in the current transaction; hand it to the broker
    after the commit. Arguments are identifiers only (integers or UUIDs)."""
    _task(task)  # NotRegistered for a name that is no task
    row = OutboxTask.objects.create(task=task, kwargs=_identifiers(ids))
    transaction.on_commit(partial(relay, row_id=row.pk), robust=True)
    return row


def _task(name: str) -> CeleryTask:
    if name not in current_app.tasks:
        # Autodiscovery runs in workers; elsewhere the module registers its tasks.
        import_module(name.rpartition(".")[0])
    return current_app.tasks[name]


def _identifiers(ids: dict) -> dict:
    checked = {}
    for name, value in ids.items():
        if isinstance(value, bool) or not isinstance(value, int | str | uuid.UUID):
            raise TypeError(f"task argument {name!r} must be an identifier")
        if isinstance(value, str):
            value = uuid.UUID(value)  # ValueError for anything but a UUID
        checked[name] = str(value) if isinstance(value, uuid.UUID) else value
    return checked


def relay(*, row_id: int, connection: Connection | None = None) -> Relayed:
    """Hand one row's task to Celery and delete the row; on failure keep it,
    with its attempt recorded, for the sweep. Never raises for a broker fault."""
    eager = _eager()
    with transaction.atomic():
        row = OutboxTask.objects.select_for_update(skip_locked=True).filter(pk=row_id).first()
        if row is None:
            return Relayed.ABSENT
        if not eager:
            try:
                with _connection(connection) as broker:
                    # One immediate retry, then the sweep's turn: kombu would otherwise keep
                    # the request waiting seconds on a broker that refuses connections.
                    broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
                    _task(row.task).apply_async(kwargs=row.kwargs, connection=broker, retry=False)
            except Exception as error:  # noqa: BLE001 - any broker fault: the sweep retries
                _postpone(row, error)
                return Relayed.FAILED
        row.delete()
    if eager:
        _run_in_process(row)
    return Relayed.PUBLISHED


@contextmanager
def _connection(given: Connection | None) -> Iterator[Connection]:
    # A connection made from the current settings (not the app's pool, which keeps
    # the broker it was made for), shared by a sweep's whole batch.
    if given is not None:
        yield given
        return
    with current_app.connection_for_write() as made:
        yield made


def _postpone(row: OutboxTask, error: Exception) -> None:
    row.attempts += 1
    row.last_error = type(error).__name__[:100]
    row.available_at = timezone.now() + min(RETRY_AFTER * row.attempts, RETRY_AFTER_MAX)
    row.save(update_fields=["attempts", "last_error", "available_at"])
    # The error's type only: a broker URL in its message may carry a password.
    logger.warning(
        "outbox: %s #%s not published (%s), attempt %s",
        row.task,
        row.pk,
        row.last_error,
        row.attempts,
    )


def _run_in_process(row: OutboxTask) -> None:
    """No broker (the embedded default, CELERY_TASK_ALWAYS_EAGER): run the task
    here, after its row's transaction, like a worker would. Its failure is the
    task's (Celery's task_failure signal raises the alert), never the caller's."""
    try:
        _task(row.task).apply(kwargs=row.kwargs, throw=True)
    except Exception as error:  # noqa: BLE001 - a committed action must not answer an error
        logger.error(
            "outbox: %s #%s failed in process (%s)", row.task, row.pk, type(error).__name__
        )


def relay_due(*, limit: int = SWEEP_BATCH) -> int:
    """The sweep: hand over the rows whose time has come, oldest first, on one
    connection; stop at the first broker failure (the rest would fail too)."""
    now = timezone.now()
    due = list(
        OutboxTask.objects.filter(available_at__lte=now)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    if not due:
        return 0
    published = 0
    with _connection(None) as broker:
        for row_id in due:
            outcome = relay(row_id=row_id, connection=broker)
            if outcome is Relayed.FAILED:
                break
            published += outcome is Relayed.PUBLISHED
    return published


def _eager() -> bool:
    return bool(current_app.conf.task_always_eager)
