"""Thin tasks: no arguments but ids, scope entered inside, nothing sensitive in
results."""

from celery import shared_task
from django.db import OperationalError

from appointments import reminders


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, OSError),  # OSError: SMTP and network
    retry_backoff=True,
    max_retries=5,
)
def send_reminders_task() -> dict:
    """Run by beat every 15 minutes; each run handles one bounded batch, and a
    second delivery of the same run sends nothing twice (unique key)."""
    return reminders.send_due_reminders().as_dict()
