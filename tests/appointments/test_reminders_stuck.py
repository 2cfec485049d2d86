"""Reminders lost mid-send (issue 12, defect 4): never sent again by themselves,
alerted, listed for the practice's telesecretaries, who resend (once) or
dismiss them."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.scoping import practice_scope
from appointments import reminders
from appointments.models import Appointment, Reminder
from audit.models import AuditEvent
from compliance.detectors import detect_stuck_reminders
from compliance.models import Alert
from patients import services as patient_services
from patients.models import Consent
from tests.appointments.helpers import booked, booking_world, stuck_reminder
from tests.factories import as_actor
from tests.faults.helpers import closed_port


@pytest.fixture
def setup(world):
    setup = booking_world(world)
    with practice_scope(world.practice_a):
        patient_services.consent_record(
            patient=setup.patient,
            purpose=Consent.Purpose.EMAIL_REMINDERS,
            actor=as_actor(world.users["telesecretary_a"]),
        )
    return setup


@pytest.fixture
def stuck(world, setup) -> Reminder:
    return stuck_reminder(booked(world, hour=11))


def _url(name: str, world, **kwargs) -> str:
    return reverse(f"appointments:{name}", kwargs={"practice": world.practice_a.slug, **kwargs})


def _status(reminder: Reminder) -> str:
    with practice_scope(reminder.practice):
        reminder.refresh_from_db()
    return reminder.status


def test_stuck_reminders_raise_one_alert_per_newly_stuck_claim(world, setup, stuck):
    being_sent = stuck_reminder(booked(world, hour=14), minutes_ago=2)
    assert detect_stuck_reminders() == 1
    [alert] = Alert.objects.filter(kind=Alert.Kind.REMINDER_STUCK)
    assert (alert.practice_id, alert.detail) == (world.practice_a.pk, {"count": 1})
    assert detect_stuck_reminders() == 1
    assert Alert.objects.filter(kind=Alert.Kind.REMINDER_STUCK).count() == 1
    # Twenty minutes on, the one being sent is stuck too: a new alert.
    assert detect_stuck_reminders(now=timezone.now() + timedelta(minutes=20)) == 1
    newest = Alert.objects.filter(kind=Alert.Kind.REMINDER_STUCK).latest("id")
    assert newest.pk != alert.pk and newest.detail == {"count": 2}
    assert _status(being_sent) == "pending"


def test_telesecretary_lists_and_resends_a_stuck_reminder_once(
    world, stuck, django_capture_on_commit_callbacks
):
    client = world.client("telesecretary_a")
    page = client.get(_url("reminders_to_check", world))
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    assert "LEFÈVRE" in page.content.decode()
    listed = AuditEvent.objects.filter(action="list", object_type="reminder").latest("id")
    assert listed.detail["patient_ids"] == [str(stuck.appointment.patient_id)]

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(_url("reminder_resend", world, reminder=stuck.pk))
    assert done.status_code == 302
    assert [message.to for message in mail.outbox] == [["elodie.lefevre@example.org"]]
    assert _status(stuck) == "sent"
    assert stuck.handled_by == world.users["telesecretary_a"]
    events = AuditEvent.objects.filter(object_type="reminder", object_id=str(stuck.pk))
    assert [(e.action, e.detail["status"]) for e in events.order_by("id")] == [
        ("update", "resend"),
        ("update", "sent"),
    ]

    again = client.post(_url("reminder_resend", world, reminder=stuck.pk))
    assert again.status_code == 409
    assert "déjà été traité" in again.content.decode()
    assert len(mail.outbox) == 1
    assert "LEFÈVRE" not in client.get(_url("reminders_to_check", world)).content.decode()


def test_dismissed_reminder_is_not_sent_and_cannot_be_resent(world, stuck):
    client = world.client("practitioner_a")
    assert client.post(_url("reminder_dismiss", world, reminder=stuck.pk)).status_code == 302
    assert _status(stuck) == "dismissed"
    assert client.post(_url("reminder_resend", world, reminder=stuck.pk)).status_code == 409
    assert mail.outbox == []


def test_a_reminder_still_being_sent_is_neither_listed_nor_resendable(world, setup):
    fresh = stuck_reminder(booked(world, hour=11), minutes_ago=1)
    client = world.client("telesecretary_a")
    assert "LEFÈVRE" not in client.get(_url("reminders_to_check", world)).content.decode()
    assert client.post(_url("reminder_resend", world, reminder=fresh.pk)).status_code == 409
    assert _status(fresh) == "pending"


def test_resend_of_a_cancelled_appointment_is_refused_and_writes_nothing(world, stuck):
    with practice_scope(world.practice_a):
        Appointment.objects.filter(pk=stuck.appointment_id).update(
            status=Appointment.Status.CANCELLED
        )
    before = AuditEvent.objects.filter(object_type="reminder", action="update").count()
    response = world.client("telesecretary_a").post(
        _url("reminder_resend", world, reminder=stuck.pk)
    )
    assert response.status_code == 409
    assert "annulé ou passé" in response.content.decode()
    assert _status(stuck) == "pending"
    assert AuditEvent.objects.filter(object_type="reminder", action="update").count() == before


def test_resend_checks_consent_again(world, setup, stuck, django_capture_on_commit_callbacks):
    with practice_scope(world.practice_a):
        patient_services.consent_withdraw(
            consent=Consent.objects.get(patient=setup.patient),
            actor=as_actor(world.users["telesecretary_a"]),
        )
    with django_capture_on_commit_callbacks(execute=True):
        world.client("telesecretary_a").post(_url("reminder_resend", world, reminder=stuck.pk))
    assert _status(stuck) == "skipped"
    assert mail.outbox == []


def test_a_resend_that_fails_is_pending_again_and_never_retried_by_itself(world, stuck, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port()
    with practice_scope(world.practice_a):
        Reminder.objects.filter(pk=stuck.pk).update(status=Reminder.Status.RESEND)
        with pytest.raises(OSError):
            reminders.reminder_deliver(practice_id=world.practice_a.pk, reminder_id=stuck.pk)
        assert _status(stuck) == "pending"
        # The task's retry finds it claimed: it is not sent twice.
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        assert (
            reminders.reminder_deliver(practice_id=world.practice_a.pk, reminder_id=stuck.pk)
            == "already"
        )
    assert mail.outbox == []
