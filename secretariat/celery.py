import os

from celery import Celery
from celery.app.task import Task as CeleryTask
from django.db import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secretariat.settings")


class Task(CeleryTask):
    """The one retry policy of every task. Tasks are idempotent, so a network,
    SMTP or disk error (OSError) or a lost database connection is retried with
    exponential backoff and jitter (at most 10 minutes apart, 5 times), then the
    failure raises a compliance alert (compliance/signals.py). `acks_late` and
    `reject_on_worker_lost` are global (settings), not repeated here.

    Tasks are handed to the broker through the transactional outbox
    (`outbox.services.enqueue`), never with `.delay()` from request code."""

    autoretry_for = (OSError, OperationalError)
    retry_backoff = True
    retry_backoff_max = 600
    retry_jitter = True
    max_retries = 5


app = Celery("secretariat", task_cls=Task)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
