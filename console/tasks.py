from celery import shared_task

from console import intake


@shared_task
def drain_phone_events() -> int:
    """Beat, every minute: the phone events a crashed or stalled drain left in
    the stream (console/intake.py); the requests drain the rest as they come."""
    return intake.drain(batches=None)
