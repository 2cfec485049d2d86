"""Periodic compliance jobs: thin, idempotent, no data in arguments.

Every task is acknowledged late and retried with backoff (the one policy of
secretariat.celery.Task), and safe to run twice at once (row locks with
skip_locked, advisory locks, unique keys)."""

from celery import shared_task

from accounts import lockout
from accounts.scoping import practice_scope
from compliance import audit_trail, detectors, hygiene, incidents, notices, retention


@shared_task
def verify_audit_chains() -> dict:
    """Nightly: recompute every audit chain, check its signed digests and the
    newest export off the database; alert on a break."""
    return audit_trail.chains_verify()


@shared_task
def write_audit_digests() -> dict:
    """Nightly: sign every chain's head and export the signed heads off the
    database (mailed to AUDIT_DIGEST_EMAILS); alert on a break."""
    return audit_trail.digests_write()


@shared_task
def seal_audit_chains() -> dict:
    """Every AUDIT_SEAL_MINUTES: check every chain since its last sealed head,
    sign the heads and export them off the database, so that a rewrite of
    anything older than a few minutes shows (audit.digests.heads_seal)."""
    return {"file": audit_trail.heads_seal().name}


@shared_task
def detect_suspicious_activity() -> dict:
    return detectors.detect_suspicious_activity()


@shared_task
def detect_stuck_reminders() -> int:
    return detectors.detect_stuck_reminders()


@shared_task
def notice_mail(notice_id: int) -> bool:
    return notices.notice_mail(notice_id=notice_id)


@shared_task
def notices_mail_pending() -> int:
    return notices.notices_mail_pending()


@shared_task
def access_review_due() -> int:
    return hygiene.access_review_due_notify()


@shared_task
def purge_expired() -> dict:
    """Daily purge; counts only in the result."""
    results = retention.purge_all()
    return {str(pk): counts for pk, counts in results.items()}


@shared_task
def patient_notification_mail(practice_id: int, notification_id: int) -> bool:
    with practice_scope(practice_id):
        return incidents.patient_notification_mail(notification_id=notification_id)


@shared_task
def breach_deadline_reminders() -> int:
    return incidents.breach_deadline_reminders()


@shared_task
def account_hygiene() -> dict:
    return {
        "deactivated": hygiene.accounts_deactivate_stale(),
        "memberships_expired": hygiene.memberships_expire(),
        "login_counters_pruned": lockout.counters_prune(),
    }
