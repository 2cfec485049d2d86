from celery import shared_task

from onboarding import services


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def shred_closed_practices() -> int:
    """Crypto-shred the practices closed for longer than PRACTICE_SHRED_AFTER_DAYS."""
    return sum(
        services.closed_practice_shred(practice=practice)
        for practice in services.practices_due_for_shredding()
    )
