from celery import shared_task

from outbox import services


@shared_task
def relay_pending() -> int:
    """Beat, every minute: hand over what the broker could not take at commit."""
    return services.relay_due()
