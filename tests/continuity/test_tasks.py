"""Beat jobs: daily backup once a day, freshness alert, retention, drill once a month."""

import os
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from freezegun import freeze_time

from compliance.models import Alert
from continuity import tasks
from continuity.backup import backups_list
from continuity.models import BackupRun, DrillResult, Outcome
from tests.factories import UserFactory, grant


@pytest.fixture
def officer(db):
    return grant(UserFactory(username="dpo_mail", email="dpo@example.org"), "compliance_officer")


@pytest.fixture
def locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.mark.django_db(transaction=True)
def test_backup_daily_makes_one_backup_however_often_delivered(backup_settings):
    first = tasks.backup_daily.apply().get()
    second = tasks.backup_daily.apply().get()
    assert first is not None and second is None
    assert BackupRun.objects.get().outcome == Outcome.SUCCESS
    assert len(backups_list()) == 1


@pytest.mark.django_db(transaction=True)
def test_backup_daily_failure_records_and_alerts_compliance(
    backup_settings, settings, officer, locmem_mail
):
    settings.BACKUP_KEYRING = ""
    tasks.backup_daily.apply().get()
    run = BackupRun.objects.get()
    assert (run.outcome, run.error) == (Outcome.FAILURE, "ImproperlyConfigured")
    alert = Alert.objects.get(kind=Alert.Kind.BACKUP_FAILED)
    assert alert.notified_at is not None
    assert mail.outbox[0].to == ["dpo@example.org"]


@pytest.mark.django_db
def test_freshness_check_alerts_once_when_no_recent_backup(
    backup_settings, officer, locmem_mail, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.backup_freshness_check.apply().get() is not None
        assert tasks.backup_freshness_check.apply().get() is None  # same day: one alert
    assert Alert.objects.filter(kind=Alert.Kind.BACKUP_MISSING).count() == 1
    assert len(mail.outbox) == 1
    assert "sauvegarde" in mail.outbox[0].subject.lower()


@pytest.mark.django_db(transaction=True)
def test_freshness_check_quiet_after_a_backup_and_alerts_27h_later(
    backup_settings, officer, audit_clock_unchecked
):
    tasks.backup_daily.apply().get()
    assert tasks.backup_freshness_check.apply().get() is None
    with freeze_time(datetime.now(UTC) + timedelta(hours=27)):
        assert tasks.backup_freshness_check.apply().get() is not None


@pytest.mark.django_db
def test_prune_deletes_what_retention_does_not_keep(backup_settings, settings):
    settings.BACKUP_KEEP_DAILY, settings.BACKUP_KEEP_WEEKLY, settings.BACKUP_KEEP_MONTHLY = 2, 0, 0
    backup_settings.mkdir(parents=True)
    now = datetime.now(UTC)
    names = []
    for days in range(4):
        stamp = (now - timedelta(days=days)).strftime("%Y%m%dT%H%M%SZ")
        path = backup_settings / f"secretariat-{stamp}-abcdef.sbk"
        path.write_bytes(b"x")
        (backup_settings / (path.name + ".manifest.json")).write_text("{}")
        names.append(path.name)
    other = backup_settings / "notes.txt"
    other.write_text("not a backup")
    assert tasks.backups_prune.apply().get() == 2
    left = sorted(p.name for p in backup_settings.iterdir())
    assert left == sorted(
        [names[0], names[0] + ".manifest.json", names[1], names[1] + ".manifest.json", "notes.txt"]
    )
    assert os.path.exists(other)


@pytest.mark.django_db(transaction=True)
def test_drill_monthly_runs_once_per_month(backup_settings):
    tasks.backup_daily.apply().get()
    first = tasks.drill_monthly.apply().get()
    second = tasks.drill_monthly.apply().get()
    assert first == second
    drill = DrillResult.objects.get()
    assert drill.outcome == Outcome.SUCCESS, drill.details


def test_continuity_tasks_ack_late_and_are_scheduled(settings):
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    for task in (
        tasks.backup_daily,
        tasks.backups_prune,
        tasks.backup_freshness_check,
        tasks.drill_monthly,
        tasks.training_reminders,
    ):
        assert task.acks_late is True
        assert task.name in scheduled
