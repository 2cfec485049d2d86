"""Thin tasks: ids in, scope entered, service called; nothing sensitive in
arguments or results."""

from celery import shared_task

from accounts.models import Practice
from patients import rotation


@shared_task
def rotate_practice_key_task(practice_id: int) -> dict:
    """Rotation is resumable, so a retry or a second delivery simply resumes."""
    practice = Practice.objects.get(pk=practice_id)
    report = rotation.rotate_practice_key(practice=practice)
    return {"practice_id": practice_id, "version": report.to_version, "rows": report.rows}
