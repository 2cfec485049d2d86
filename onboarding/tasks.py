from celery import shared_task

from onboarding import services


@shared_task
def shred_closed_practices() -> int:
    """Crypto-shred the practices closed for longer than PRACTICE_SHRED_AFTER_DAYS."""
    return sum(
        services.closed_practice_shred(practice=practice)
        for practice in services.practices_due_for_shredding()
    )


@shared_task
def invitation_mail(invitation_id: int) -> bool:
    return services.invitation_mail(invitation_id=invitation_id)


@shared_task
def device_reset_notify(reset_id: int) -> bool:
    return services.device_reset_notify(reset_id=reset_id)
