"""Periodic continuity jobs. Thin and idempotent; no arguments but ids
or nothing. Deadlines (26 h without a backup) are checked by beat, not ETAs."""

from celery import shared_task
from django.utils import timezone

from continuity import services

# Retried with backoff (secretariat.celery.Task): each task is idempotent (one
# backup and one drill per scheduled day, alerts and reminders per key).


@shared_task
def backup_daily() -> int | None:
    run = services.backup_scheduled(day=timezone.localdate())
    return run.pk if run else None


@shared_task
def backups_prune() -> int:
    return len(services.backups_prune())


@shared_task
def backup_freshness_check() -> int | None:
    alert = services.backup_freshness_check()
    return alert.pk if alert else None


@shared_task
def drill_monthly() -> int:
    today = timezone.localdate()
    return services.drill_run(scheduled_for=today.replace(day=1)).pk


@shared_task
def training_reminders() -> int:
    return services.training_reminders_send()
