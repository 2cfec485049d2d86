"""Rows of each purged kind, old and recent, in practices A and B."""

from datetime import timedelta

from django.utils import timezone

from accounts.scoping import practice_scope
from appointments.models import CallMessage, Reminder
from compliance import retention
from tests.appointments.helpers import appointment, appointment_type
from tests.patients.helpers import make_patient


def aged_rows(world, practice_key: str, *, ages_days: list[int]) -> dict[str, list[int]]:
    """One appointment (ended `age` days ago), call message and reminder per age."""
    practice = getattr(world, f"practice_{practice_key}")
    doctor = world.users[f"practitioner_{practice_key}"]
    now = timezone.now()
    ids: dict[str, list[int]] = {"appointments": [], "call_messages": [], "reminders": []}
    with practice_scope(practice):
        kind = appointment_type(practice)
        patient = make_patient(practice)
        for index, age in enumerate(ages_days):
            end = now - timedelta(days=age, minutes=index)
            row = appointment(
                practice, doctor, kind, end - timedelta(minutes=1), end, patient=patient
            )
            ids["appointments"].append(row.pk)
            message = CallMessage(practice=practice, practitioner=doctor, patient=patient)
            message.write({"text": "Rappeler pour résultats d'analyse"})
            message.save(force_insert=True)
            CallMessage.objects.filter(pk=message.pk).update(created_at=end)
            ids["call_messages"].append(message.pk)
            reminder = Reminder.objects.create(
                practice=practice, appointment=row, channel="email", status="sent"
            )
            Reminder.objects.filter(pk=reminder.pk).update(created_at=end)
            ids["reminders"].append(reminder.pk)
    return ids


def announced_long_ago(*practices) -> None:
    """The periods in force announced more than the notice ago: the purge
    applies them now (a fresh practice has announced nothing yet)."""
    when = timezone.now() - timedelta(days=retention.NOTICE_DAYS, hours=1)
    for practice in practices:
        retention.purge_announce(practice=practice, now=when)
