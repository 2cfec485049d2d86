"""Celery beat reads its schedule from the database (django-celery-beat), so an
admin can change or pause a periodic task without a deployment."""

import pytest
from django.conf import settings
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from secretariat.celery import app


@pytest.mark.django_db(transaction=True)
def test_beat_writes_every_scheduled_task_into_the_database():
    assert app.conf.beat_scheduler == settings.CELERY_BEAT_SCHEDULER
    DatabaseScheduler(app=app)
    stored = set(PeriodicTask.objects.values_list("task", flat=True))
    expected = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert expected <= stored


@pytest.mark.django_db(transaction=True)
def test_a_disabled_entry_stays_disabled_for_the_scheduler():
    DatabaseScheduler(app=app)
    task = PeriodicTask.objects.get(name="verify-audit-chains")
    task.enabled = False
    task.save()
    scheduler = DatabaseScheduler(app=app)
    assert "verify-audit-chains" not in scheduler.all_as_schedule()


def test_every_scheduled_task_is_a_task():
    app.loader.import_default_modules()  # autodiscovery, as a worker starts
    missing = {
        name
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
        if entry["task"] not in app.tasks
    }
    assert missing == set()
