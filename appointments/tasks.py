"""Thin tasks: no arguments but ids, scope entered inside, nothing sensitive in
results."""

from celery import shared_task

from appointments import reminders


@shared_task
def send_reminders_task() -> dict:
    """Run by beat every 15 minutes; each run handles one bounded batch, and a
    second delivery of the same run sends nothing twice (unique key)."""
    return reminders.send_due_reminders().as_dict()


@shared_task
def reminder_deliver(practice_id: int, reminder_id: int) -> str:
    """A reminder a person asked to resend (appointments/reminders.py), which
    enters the practice's scope itself: its claim commits before the sending."""
    return reminders.reminder_deliver(practice_id=practice_id, reminder_id=reminder_id)
