"""Day-before reminders: consent, once only, bounded, nothing clinical inside."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connections
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import override

from accounts.scoping import practice_scope
from appointments import reminders, sms
from appointments.models import Appointment, Reminder
from appointments.tasks import send_reminders_task
from audit.models import AuditEvent
from patients import services as patient_services
from patients.models import Consent
from tests.appointments.helpers import PARIS, appointment, booking_world
from tests.factories import as_actor
from tests.patients.helpers import add_note, make_patient


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


def _consent(world, setup, purpose=Consent.Purpose.EMAIL_REMINDERS, patient=None) -> Consent:
    with practice_scope(world.practice_a):
        return patient_services.consent_record(
            actor=as_actor(world.users["telesecretary_a"]),
            patient=patient or setup.patient,
            purpose=purpose,
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
        patient_services.consent_withdraw(
            actor=as_actor(world.users["telesecretary_a"]), consent=consent
        )
    _tomorrow(world, setup)
    assert send_reminders_task()["skipped"] == 1
    assert mail.outbox == []
    assert send_reminders_task()["examined"] == 0  # recorded: not examined again


def test_reminder_sms_sent_with_sms_consent_minimal_content(world, setup, _sms_outbox):
    # Data that could leak: a telling specialty, a clinical note, the reason.
    world.practice_a.specialty = "Psychiatrie"
    world.practice_a.save(update_fields=["specialty"])
    add_note(setup.patient, world.users["practitioner_a"])
    _consent(world, setup, purpose=Consent.Purpose.SMS_REMINDERS)
    row = _tomorrow(world, setup)
    assert send_reminders_task()["sent"] == 1
    [message] = _sms_outbox
    assert message.to == "+33612345678"
    local = row.start.astimezone(PARIS)
    with override("fr"):
        assert date_format(local, "l j F") in message.body
    assert local.strftime("%H:%M") in message.body
    assert world.practice_a.name in message.body
    for leak in (
        "grain de beauté",
        "Psychiatrie",
        setup.private_kind.name,
        "Asthme",
        "Lefèvre",
        "Élodie",
        "1984",
        "06 12",
    ):
        assert leak.casefold() not in message.body.casefold()
    assert mail.outbox == []
    with practice_scope(world.practice_a):
        reminder = Reminder.objects.get(appointment=row)
        event = AuditEvent.objects.filter(object_type="reminder").get()
    assert (reminder.channel, reminder.status) == ("sms", "sent")
    assert event.detail == {"appointment": str(row.pk), "channel": "sms", "status": "sent"}
    # Once only.
    with practice_scope(world.practice_a):
        again = reminders.reminder_send(practice_id=world.practice_a.pk, appointment_id=str(row.pk))
    assert again == "already"
    assert len(_sms_outbox) == 1


def test_reminder_sms_not_sent_without_or_after_withdrawn_consent(world, setup, _sms_outbox):
    _consent(world, setup, purpose=Consent.Purpose.INFORMATION)
    consent = _consent(world, setup, purpose=Consent.Purpose.SMS_REMINDERS)
    with practice_scope(world.practice_a):
        patient_services.consent_withdraw(
            actor=as_actor(world.users["telesecretary_a"]), consent=consent
        )
    row = _tomorrow(world, setup)
    other = make_patient(world.practice_a, email="", phone="07 11 22 33 44")
    _tomorrow(world, setup, hours=23, patient=other)  # no consent at all
    assert send_reminders_task()["skipped"] == 2
    assert _sms_outbox == [] and mail.outbox == []
    with practice_scope(world.practice_a):
        reminder = Reminder.objects.get(appointment=row)
        events = AuditEvent.objects.filter(object_type="reminder", action="create")
        details = sorted(event.detail["status"] for event in events)
    assert (reminder.channel, reminder.status) == ("none", "skipped")
    assert details == ["skipped", "skipped"]  # audited though nothing was sent


def test_reminder_sms_goes_to_a_mobile_never_a_landline(world, setup, _sms_outbox):
    landline = make_patient(world.practice_a, phone="04 78 12 34 56", phone_alt="")
    both = make_patient(world.practice_a, phone="04 78 12 34 56", phone_alt="+33 7 98 76 54 32")
    for patient in (landline, both):
        _consent(world, setup, purpose=Consent.Purpose.SMS_REMINDERS, patient=patient)
    skipped = _tomorrow(world, setup, patient=landline)
    _tomorrow(world, setup, hours=23, patient=both)
    assert send_reminders_task() == {
        "examined": 2,
        "sent": 1,
        "skipped": 1,
        "already": 0,
        "failed": 0,
    }
    assert [message.to for message in _sms_outbox] == ["+33798765432"]
    with practice_scope(world.practice_a):
        assert Reminder.objects.get(appointment=skipped).channel == "sms"


def test_reminder_prefers_email_and_falls_back_to_sms_without_address(world, setup, _sms_outbox):
    _consent(world, setup, purpose=Consent.Purpose.SMS_REMINDERS)
    _consent(world, setup)
    no_email = make_patient(world.practice_a, email="")
    for purpose in (Consent.Purpose.EMAIL_REMINDERS, Consent.Purpose.SMS_REMINDERS):
        _consent(world, setup, purpose=purpose, patient=no_email)
    _tomorrow(world, setup)
    _tomorrow(world, setup, hours=23, patient=no_email)
    assert send_reminders_task()["sent"] == 2
    assert [m.to for m in mail.outbox] == [["elodie.lefevre@example.org"]]
    assert [m.to for m in _sms_outbox] == ["+33612345678"]


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


def test_reminder_sms_on_console_shows_masked_number_only(world, setup, settings, capsys):
    settings.SMS_BACKEND = "appointments.sms.ConsoleBackend"
    _consent(world, setup, purpose=Consent.Purpose.SMS_REMINDERS)
    _tomorrow(world, setup)
    assert send_reminders_task()["sent"] == 1
    output = capsys.readouterr().out
    assert world.practice_a.name in output
    assert "••••••••••78" in output
    assert "612345" not in output and "+33" not in output
    assert "grain de beauté" not in output


class UnreachableGateway(sms.BaseSmsBackend):
    """A gateway that fails, as a real one can (timeout, refusal)."""

    def send_messages(self, messages):
        raise ConnectionError("gateway unreachable")


def test_reminder_sms_gateway_failure_leaves_pending_never_resent(world, setup, settings):
    settings.SMS_BACKEND = "tests.appointments.test_reminders.UnreachableGateway"
    _consent(world, setup, purpose=Consent.Purpose.SMS_REMINDERS)
    row = _tomorrow(world, setup)
    assert send_reminders_task()["failed"] == 1
    with practice_scope(world.practice_a):
        assert Reminder.objects.get(appointment=row).status == "pending"
    # Recorded before sending: a later run does not try again (a person looks at it).
    settings.SMS_BACKEND = "appointments.sms.LocmemBackend"
    assert send_reminders_task()["examined"] == 0
    assert sms.outbox == []
