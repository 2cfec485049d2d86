"""Day-before reminders: consent, once only, bounded, nothing clinical inside."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connections
from django.utils import timezone

from accounts.scoping import practice_scope
from appointments import reminders
from appointments.models import Appointment, Reminder
from appointments.tasks import send_reminders_task
from patients import services as patient_services
from patients.models import Consent
from tests.appointments.helpers import appointment, booking_world


def _tomorrow(world, setup, status=Appointment.Status.BOOKED, hours=24, patient=None):
    start = timezone.now() + timedelta(hours=hours)
    with practice_scope(world.practice_a):
        return appointment(
            world.practice_a,
            setup.practitioner,
            setup.private_kind,
            start,
            start + timedelta(minutes=30),
            status=status,
            patient=patient or setup.patient,
            reason="Exérèse d'un grain de beauté",
        )


def _consent(world, setup, purpose=Consent.Purpose.EMAIL_REMINDERS) -> Consent:
    with practice_scope(world.practice_a):
        return patient_services.consent_record(
            patient=setup.patient, purpose=purpose, actor=world.users["telesecretary_a"]
        )


@pytest.fixture
def setup(world):
    return booking_world(world)


def test_reminder_sent_once_with_email_consent(world, setup):
    _consent(world, setup)
    row = _tomorrow(world, setup)
    first = send_reminders_task()
    assert first == {"examined": 1, "sent": 1, "skipped": 0, "already": 0, "failed": 0}
    [message] = mail.outbox
    assert message.to == ["elodie.lefevre@example.org"]
    assert world.practice_a.name in message.body
    assert "grain de beauté" not in message.body + message.subject
    assert setup.private_kind.name not in message.body
    with practice_scope(world.practice_a):
        reminder = Reminder.objects.get(appointment=row)
    assert reminder.status == "sent" and reminder.channel == "email"
    # A second run, or a duplicated delivery, sends nothing.
    assert send_reminders_task()["examined"] == 0
    with practice_scope(world.practice_a):
        again = reminders.reminder_send(practice_id=world.practice_a.pk, appointment_id=str(row.pk))
    assert again == "already"
    assert len(mail.outbox) == 1


def test_reminder_skipped_without_or_after_withdrawn_consent(world, setup):
    consent = _consent(world, setup)
    with practice_scope(world.practice_a):
        patient_services.consent_withdraw(consent=consent, actor=world.users["telesecretary_a"])
    _tomorrow(world, setup)
    assert send_reminders_task()["skipped"] == 1
    assert mail.outbox == []
    assert send_reminders_task()["examined"] == 0  # recorded: not examined again


def test_reminder_with_sms_consent_only_is_recorded_not_sent(world, setup):
    _consent(world, setup, purpose=Consent.Purpose.SMS_REMINDERS)
    row = _tomorrow(world, setup)
    send_reminders_task()
    with practice_scope(world.practice_a):
        reminder = Reminder.objects.get(appointment=row)
    assert (reminder.channel, reminder.status) == ("sms", "skipped")
    assert mail.outbox == []


def test_reminder_ignores_cancelled_and_out_of_window(world, setup):
    _consent(world, setup)
    _tomorrow(world, setup, status=Appointment.Status.CANCELLED)
    _tomorrow(world, setup, hours=72)
    _tomorrow(world, setup, hours=2)
    assert send_reminders_task()["examined"] == 0
    assert mail.outbox == []


def test_reminder_batch_is_bounded(world, setup):
    for hours in (21, 22, 23):
        _tomorrow(world, setup, hours=hours)
    assert reminders.send_due_reminders(batch=2).examined == 2
    assert reminders.send_due_reminders(batch=2).examined == 1


@pytest.mark.django_db(transaction=True)
def test_reminder_concurrent_runs_send_once(world):
    setup = booking_world(world)
    _consent(world, setup)
    row = _tomorrow(world, setup)
    barrier = threading.Barrier(4)
    outcomes = []

    def run() -> None:
        try:
            with practice_scope(world.practice_a):
                barrier.wait(timeout=10)
                outcomes.append(
                    reminders.reminder_send(
                        practice_id=world.practice_a.pk, appointment_id=str(row.pk)
                    )
                )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["already", "already", "already", "sent"]
    assert len(mail.outbox) == 1
