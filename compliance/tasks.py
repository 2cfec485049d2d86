"""Periodic compliance jobs: thin, idempotent, no data in arguments.

Every task: acks_late (a lost worker means a rerun, which each tolerates),
retried with backoff on OSError (network, SMTP), and safe to run twice at once
(row locks with skip_locked, advisory locks, unique keys)."""

from celery import shared_task

from compliance import detectors, services

RETRY = {
    "acks_late": True,
    "autoretry_for": (OSError,),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": 5,
}


@shared_task(**RETRY)
def detect_suspicious_activity() -> dict:
    return detectors.detect_suspicious_activity()


@shared_task(**RETRY)
def alerts_notify_pending() -> int:
    return services.alerts_notify_pending()


@shared_task(**RETRY)
def purge_expired() -> dict:
    """Daily purge; counts only in the result."""
    from compliance import retention

    results = retention.purge_all()
    return {str(pk): counts for pk, counts in results.items()}


@shared_task(**RETRY)
def breach_notify_practices(incident_id: int) -> int:
    from compliance import incidents

    return incidents.breach_notify_practices(incident_id=incident_id)


@shared_task(**RETRY)
def breach_deadline_reminders() -> int:
    from compliance import incidents

    return incidents.breach_deadline_reminders()


@shared_task(**RETRY)
def account_hygiene() -> dict:
    from compliance import hygiene

    return {
        "deactivated": hygiene.accounts_deactivate_stale(),
        "memberships_expired": hygiene.memberships_expire(),
    }
