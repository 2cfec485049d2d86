"""State changes of the continuity app. Each writes its audit event; alerts
and reminders are recorded under a unique key before the e-mail goes out."""

import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from audit.context import Actor
from audit.models import Action
from audit.services import record_event
from compliance import notices
from compliance.models import Alert as ComplianceAlert
from compliance.services import alert_raise as compliance_alert_raise
from continuity import backup, training
from continuity.models import (
    BackupRun,
    DrillResult,
    Outcome,
    TrainingSession,
)
from continuity.retention import backups_to_keep
from continuity.stream import BackupIntegrityError
from secretariat import inputs

AlertKind = ComplianceAlert.Kind

# ---------------------------------------------------------------- alerts


def alert_raise(*, kind: str, key: str, details: dict):
    """Raise in the compliance inbox, once per key. Returns None when an alert
    under this key already exists (a second run the same day stays quiet)."""
    if ComplianceAlert.objects.filter(fingerprint=key).exists():
        return None
    return compliance_alert_raise(kind=kind, fingerprint=key, detail=details)


# ---------------------------------------------------------------- backups


def backup_run(
    *,
    dest: Path | None = None,
    progress: Callable[[int], None] | None = None,
    run: BackupRun | None = None,
) -> backup.BackupResult:
    """Makes one backup and records it; a failure is recorded and alerted, then raised."""
    run = run or BackupRun.objects.create()
    try:
        result = backup.backup_create(dest=dest, progress=progress)
    except Exception as error:
        BackupRun.objects.filter(pk=run.pk).update(
            finished_at=timezone.now(), outcome=Outcome.FAILURE, error=type(error).__name__
        )
        alert_raise(
            kind=AlertKind.BACKUP_FAILED,
            key=f"backup_failed:{run.pk}",
            details={"backup_run": run.pk, "error": type(error).__name__},
        )
        raise
    with transaction.atomic():
        BackupRun.objects.filter(pk=run.pk).update(
            finished_at=timezone.now(),
            outcome=Outcome.SUCCESS,
            file_name=result.path.name,
            size=result.manifest["size"],
        )
        record_event(
            actor=Actor.system("backup"),
            action=Action.EXPORT,
            object_type="backup",
            object_id=run.pk,
            detail={
                "size": result.manifest["size"],
                "tables": len(result.manifest["row_counts"]),
                "key_id": result.manifest["key_id"],
            },
        )
    return result


def backup_scheduled(*, day: date) -> BackupRun | None:
    """The daily backup, once per day however often the task is delivered."""
    try:
        with transaction.atomic():
            run = BackupRun.objects.create(scheduled_for=day)
    except IntegrityError:
        return None
    # A failure is recorded on the run and alerted by backup_run.
    with contextlib.suppress(Exception):
        backup_run(run=run)
    run.refresh_from_db()
    return run


def backups_prune(*, directory: Path | None = None) -> list[str]:
    """Deletes backups (and manifests) that the retention rule does not keep."""
    stored = backup.backups_list(directory)
    keep = backups_to_keep(
        [(item.path.name, item.created_at) for item in stored],
        daily=settings.BACKUP_KEEP_DAILY,
        weekly=settings.BACKUP_KEEP_WEEKLY,
        monthly=settings.BACKUP_KEEP_MONTHLY,
    )
    removed = []
    for item in stored:
        if item.path.name not in keep:
            backup.manifest_path(item.path).unlink(missing_ok=True)
            item.path.unlink(missing_ok=True)
            removed.append(item.path.name)
    if removed:
        record_event(
            actor=Actor.system("backup"),
            action=Action.PURGE,
            object_type="backup",
            detail={"removed": len(removed)},
        )
    return removed


def latest_valid_backup(directory: Path | None = None) -> backup.StoredBackup | None:
    for item in backup.backups_list(directory):
        try:
            backup.manifest_read(item.path)
        except BackupIntegrityError:
            continue
        return item
    return None


def backup_freshness_check(*, now=None):
    """Alerts when no intact backup is younger than BACKUP_MAX_AGE_HOURS (one alert a day)."""
    now = now or timezone.now()
    limit = now - timedelta(hours=settings.BACKUP_MAX_AGE_HOURS)
    latest = latest_valid_backup()
    if latest is not None and latest.created_at >= limit:
        return None
    details = {"latest": latest.path.name if latest else None}
    return alert_raise(
        kind=AlertKind.BACKUP_MISSING,
        key=f"backup_missing:{now.date().isoformat()}",
        details=details,
    )


# ---------------------------------------------------------------- restore drill

DRILL_TIMEOUT_SECONDS = 3600


def drill_run(*, scheduled_for: date | None = None, directory: Path | None = None) -> DrillResult:
    """Restores the latest backup into a scratch database, checks it, drops it."""
    if scheduled_for is not None:
        try:
            with transaction.atomic():
                result = DrillResult.objects.create(scheduled_for=scheduled_for)
        except IntegrityError:
            return DrillResult.objects.get(scheduled_for=scheduled_for)
    else:
        result = DrillResult.objects.create()
    details: dict = {}
    latest = backup.backups_list(directory)
    if not latest:
        details["error"] = "no_backup"
    else:
        result.backup_file = latest[0].path.name
        try:
            details.update(_drill_backup(latest[0].path))
        except BackupIntegrityError:
            details["error"] = "backup_integrity"
        except backup.BackupError:
            details["error"] = "restore_failed"
    failed = bool(
        details.get("error")
        or details.get("row_count_mismatches")
        or details.get("broken_chains")
        or details.get("totp_failures")
        or details.get("sealed_failures")
    )
    result.outcome = Outcome.FAILURE if failed else Outcome.SUCCESS
    result.finished_at = timezone.now()
    result.details = details
    with transaction.atomic():
        result.save()
        record_event(
            actor=Actor.system("restore_drill"),
            action=Action.VIEW,
            object_type="restore_drill",
            object_id=result.pk,
            detail={"outcome": result.outcome},
        )
    if failed:
        alert_raise(
            kind=AlertKind.DRILL_FAILED,
            key=f"drill_failed:{result.pk}",
            details={"drill": result.pk, "error": details.get("error") or "checks"},
        )
    return result


def _drill_backup(path: Path) -> dict:
    manifest = backup.backup_verify(path)
    # The maintenance role: it may create the scratch database.
    source = backup.DatabaseTarget.maintenance()
    name = ""
    if manifest["engine"] == "postgresql":
        name = f"secretariat_drill_{secrets.token_hex(6)}"
        scratch = source.with_name(name)
        _pg_admin(source, f'CREATE DATABASE "{name}" TEMPLATE template0')
        try:
            backup.backup_restore(path, target=scratch)
            checked = _drill_check_subprocess(scratch)
        finally:
            _pg_admin(source, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        with tempfile.TemporaryDirectory(prefix="secretariat-drill-") as directory:
            scratch = backup.DatabaseTarget(engine="sqlite", name=str(Path(directory) / "db"))
            backup.backup_restore(path, target=scratch)
            checked = _drill_check_subprocess(scratch)
    expected = manifest["row_counts"]
    found = checked["row_counts"]
    mismatches = sorted(t for t in set(expected) | set(found) if expected.get(t) != found.get(t))
    return {
        "tables_checked": len(expected),
        "rows_checked": sum(expected.values()),
        "row_count_mismatches": mismatches,
        "chains_checked": checked["chains_checked"],
        "events_checked": checked["events_checked"],
        "broken_chains": checked["broken_chains"],
        "broken_event_ids": checked["broken_event_ids"],
        "totp_secrets_checked": checked["totp_checked"],
        "totp_failures": checked["totp_failures"],
        "sealed_rows_checked": sum(checked["sealed_checked"].values()),
        "sealed_models_checked": len(checked["sealed_checked"]),
        "sealed_failures": checked["sealed_failures"],
        # The scratch database the drill restored into (and dropped), so that
        # its removal can be checked.
        "scratch_database": name,
    }


def _pg_admin(source: backup.DatabaseTarget, statement: str) -> None:
    # The name is ours (secretariat_drill_<hex>), never user input.
    with source.connect(autocommit=True) as conn:
        conn.execute(statement)


def _drill_check_subprocess(scratch: backup.DatabaseTarget) -> dict:
    """Runs `manage.py drill_check` against the scratch database: a separate
    process, so the audit chain and TOTP code run unchanged on the default alias."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env["DATABASE_URL"] = scratch.url()
    env["DATABASE_POOL"] = "false"
    completed = subprocess.run(  # noqa: S603 - our interpreter and manage.py, no shell
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "drill_check"],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=DRILL_TIMEOUT_SECONDS,
    )
    if completed.returncode != 0:
        raise backup.BackupError(f"drill_check a échoué (code {completed.returncode})")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- training


@transaction.atomic
def training_session_record(
    *,
    day: date,
    topic: str,
    attendees: list[User],
    actor: Actor,
) -> TrainingSession:
    inputs.PAST.check(day)
    inputs.check_text(topic)
    session = TrainingSession.objects.create(date=day, topic=topic, recorded_by=actor.user)
    session.attendees.set(attendees)
    record_event(
        actor=actor,
        action=Action.CREATE,
        object_type="training_session",
        object_id=session.pk,
        detail={"attendees": sorted(user.pk for user in attendees)},
    )
    return session


def training_reminders_send(*, today: date | None = None) -> int:
    """Notify each overdue user once per ISO week (in the application, and by
    e-mail when they have an address). Returns the notices made. The week's
    notice is recorded first and its e-mail sent by a task that retries: an SMTP
    failure no longer costs the week's reminder."""
    today = today or timezone.localdate()
    made = 0
    for status in training.overdue_statuses(today):
        with transaction.atomic():
            made += len(
                notices.notify(
                    kind=notices.Kind.TRAINING_DUE,
                    key=f"training:{status.user.pk}:{notices.iso_week(today)}",
                    recipients=[notices.Recipient(status.user)],
                    params={"blocked_after": status.blocked_after.isoformat()},
                )
            )
    return made
