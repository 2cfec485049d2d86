"""Day-before reminders, sent only with the patient's consent, at most once.

Each reminder is recorded under its unique key (appointment, kind) and
committed *before* anything is sent: a retried, duplicated or concurrent run
finds the key taken and sends nothing (SECURITY.md: "recorded under a unique key
before it is sent, so it is sent once"). A run that dies between the record
and the sending leaves a `pending` row for a person to look at, rather than
risk a second message: once older than `Reminder.STUCK_AFTER` it raises a
compliance alert (compliance/detectors.py) and is listed for the practice's
telesecretaries (and practitioners), who resend it (`reminder_resend`, claimed
again before the new attempt) or dismiss it. Appointments are examined in
bounded batches.

The message says when and where, never why (no reason for visit, no type, no
specialty: no practice setting allows it yet). E-mail goes through Django's
mail backend, SMS through appointments.sms (settings.SMS_BACKEND) to the
patient's mobile number in E.164. The channel is the first one the patient
consented to (e-mail, then SMS) for which an address exists.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import OuterRef
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import override
from phonenumbers import NumberParseException, PhoneNumberType, number_type, parse

from accounts.models import Practice
from accounts.scoping import practice_scope
from appointments import sms
from appointments.models import Appointment, Reminder
from appointments.selectors import practice_zone
from audit.context import Actor
from audit.models import Action, ObjectType
from audit.services import record_event
from outbox import services as outbox
from patients import normalise
from patients.models import Consent, Patient

logger = logging.getLogger(__name__)

KIND = "day_before"
WINDOW_START = timedelta(hours=20)
WINDOW_END = timedelta(hours=28)
BATCH = 200


@dataclass
class RunReport:
    examined: int = 0
    sent: int = 0
    skipped: int = 0
    already: int = 0
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "examined": self.examined,
            "sent": self.sent,
            "skipped": self.skipped,
            "already": self.already,
            "failed": len(self.failed),
        }


def due_appointment_ids(now: datetime, batch: int = BATCH) -> list[tuple[int, str]]:
    """(practice id, appointment id) of booked appointments starting 20-28 h
    from now that have no day-before reminder yet, at most `batch`. Practice by
    practice, each under its own scope (row security shows a job no other
    practice's rows; one indexed query each); only identifiers leave."""
    due: list[tuple[int, str]] = []
    for practice_id in Practice.objects.order_by("pk").values_list("pk", flat=True):
        with practice_scope(practice_id):
            rows = (
                Appointment.objects.filter(
                    practice_id=practice_id,
                    status=Appointment.Status.BOOKED,
                    start__gte=now + WINDOW_START,
                    start__lt=now + WINDOW_END,
                )
                .exclude(reminders__kind=KIND)
                .order_by("start")
                .values_list("pk", flat=True)[: batch - len(due)]
            )
            due += [(practice_id, str(pk)) for pk in rows]
        if len(due) >= batch:
            break
    return due


def send_due_reminders(now: datetime | None = None, batch: int = BATCH) -> RunReport:
    now = now or timezone.now()
    report = RunReport()
    for practice_id, appointment_id in due_appointment_ids(now, batch):
        report.examined += 1
        try:
            outcome = reminder_send(practice_id=practice_id, appointment_id=appointment_id)
        except Exception:  # one failure must not stop the batch
            logger.exception("reminder failed for appointment %s", appointment_id)
            report.failed.append(appointment_id)
            continue
        if outcome == Reminder.Status.SENT:
            report.sent += 1
        elif outcome == Reminder.Status.SKIPPED:
            report.skipped += 1
        else:
            report.already += 1
    return report


def _consents() -> ArraySubquery:
    """The purposes the appointment's patient consents to (not withdrawn), as a
    column of the appointment's own query: one round trip, not two."""
    return ArraySubquery(
        Consent.objects.filter(
            practice_id=OuterRef("practice_id"),
            patient_id=OuterRef("patient_id"),
            withdrawn_at__isnull=True,
        ).values("purpose")
    )


def _consented(appointment: Appointment) -> set[str]:
    if hasattr(appointment, "consented"):  # read with the appointment (_consents)
        return set(appointment.consented)
    return set(
        Consent.objects.filter(
            practice_id=appointment.practice_id,
            patient_id=appointment.patient_id,
            withdrawn_at__isnull=True,
        ).values_list("purpose", flat=True)
    )


_MOBILE = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def _mobile_number(patient: Patient) -> str:
    """The patient's first number that can receive a text, in E.164; "" if none
    (a landline or an unparseable number is not texted)."""
    for field_name in ("phone", "phone_alt"):
        number = normalise.phone(patient.read(field_name))
        if not number:
            continue
        try:
            if number_type(parse(number)) in _MOBILE:
                return number
        except NumberParseException:
            continue
    return ""


def _channel(appointment: Appointment) -> tuple[str, str]:
    """(channel, address): the first consented channel with an address; when
    none can be used, the consented channel (or "none") and no address."""
    purposes = _consented(appointment)
    patient = appointment.patient
    if Consent.Purpose.EMAIL_REMINDERS in purposes:
        email = patient.read("email")
        if email:
            return "email", email
    if Consent.Purpose.SMS_REMINDERS in purposes:
        number = _mobile_number(patient)
        if number:
            return "sms", number
    if Consent.Purpose.EMAIL_REMINDERS in purposes:
        return "email", ""
    if Consent.Purpose.SMS_REMINDERS in purposes:
        return "sms", ""
    return "none", ""


def masked(address: str) -> str:
    """An address as the patient's export shows it: a number's last two digits,
    an e-mail's first letter and domain ("e•••@example.org")."""
    if "@" in address:
        local, _at, domain = address.rpartition("@")
        return f"{local[:1]}•••@{domain}"
    return sms.mask(address)


_CLAIM = (
    "INSERT INTO appointments_reminder"
    " (practice_id, appointment_id, kind, channel, destination, status, created_at, claimed_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (practice_id, appointment_id, kind) DO NOTHING RETURNING id"
)


def _claim(appointment: Appointment, channel: str, address: str, status: str) -> Reminder | None:
    """Record the reminder under its unique key; None when it already exists.

    One statement: ON CONFLICT DO NOTHING on the unique key (reminder_once_per_kind)
    inserts nothing and returns no row when another run holds the key, where
    catching the IntegrityError needed a savepoint around the INSERT (three round
    trips). A concurrent run's uncommitted claim makes this one wait for its
    outcome, as the unique index did before; the row is still the guarantee."""
    now = timezone.now()
    reminder = Reminder(
        practice_id=appointment.practice_id,
        appointment=appointment,
        kind=KIND,
        channel=channel,
        destination=masked(address),
        status=status,
        created_at=now,
        claimed_at=now,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM,
            [
                reminder.practice_id,
                appointment.pk,
                reminder.kind,
                reminder.channel,
                reminder.destination,
                reminder.status,
                reminder.created_at,
                reminder.claimed_at,
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    reminder.pk = row[0]
    reminder._state.adding = False
    reminder._state.db = connection.alias
    return reminder


def reminder_send(*, practice_id: int, appointment_id: str) -> str:
    """Send (at most once) the day-before reminder of one appointment. Returns
    the reminder's status, or "already" when another run recorded it first.
    The claim is committed (its practice scope is a transaction) before anything
    is sent; the outcome of a sending is recorded in a second scope. One that is
    not sent (no consent, no address) is final when claimed: audited in the same
    transaction."""
    with practice_scope(practice_id):
        appointment = (
            Appointment.objects.filter(
                practice_id=practice_id, pk=appointment_id, status=Appointment.Status.BOOKED
            )
            .select_related("practice", "patient")
            .annotate(consented=_consents())
            .first()
        )
        if appointment is None:
            return "already"
        channel, address = _channel(appointment)
        sendable = bool(address)
        status = Reminder.Status.PENDING if sendable else Reminder.Status.SKIPPED
        reminder = _claim(appointment, channel, address, status)
        if reminder is None:
            return "already"
        if not sendable:  # final already: audited with its record, in one transaction
            _audit_created(reminder, appointment_id)
            return reminder.status
    SENDERS[reminder.channel](appointment, address)
    with practice_scope(practice_id):
        _sent(reminder)
        _audit_created(reminder, appointment_id)
    return reminder.status


def _audit_created(reminder: Reminder, appointment_id: str) -> None:
    record_event(
        actor=Actor.system("reminders"),
        action=Action.CREATE,
        practice=reminder.practice_id,
        object_type=ObjectType.REMINDER,
        object_id=reminder.pk,
        detail={
            "appointment": appointment_id,
            "channel": reminder.channel,
            "status": reminder.status,
        },
    )


def _sent(reminder: Reminder) -> None:
    """Record a claimed reminder sent. A sending that raised leaves it pending."""
    reminder.status = Reminder.Status.SENT
    reminder.sent_at = timezone.now()
    reminder.save(update_fields=["status", "sent_at"])


class ReminderRefused(Exception):
    """A resend or dismissal that no longer applies, with a message for the person."""


def _lock_stuck(reminder: Reminder, now: datetime) -> Reminder:
    locked = (
        Reminder.objects.select_for_update(of=("self",))
        .select_related("appointment")
        .get(practice_id=reminder.practice_id, pk=reminder.pk)
    )
    if locked.status != Reminder.Status.PENDING or now - locked.claimed_at < Reminder.STUCK_AFTER:
        raise ReminderRefused(_("Ce rappel n'est plus à vérifier : il a déjà été traité."))
    return locked


def _handled(reminder: Reminder, status: str, actor: Actor, now: datetime) -> None:
    reminder.status = status
    reminder.handled_by = actor.user
    reminder.handled_at = now
    reminder.save(update_fields=["status", "handled_by", "handled_at"])
    record_event(
        actor=actor,
        action=Action.UPDATE,
        practice=reminder.practice_id,
        object_type=ObjectType.REMINDER,
        object_id=reminder.pk,
        detail={"appointment": str(reminder.appointment_id), "status": status},
    )


@transaction.atomic
def reminder_resend(*, reminder: Reminder, actor: Actor) -> Reminder:
    """A person asks for another attempt at a stuck reminder, knowing the first
    may have reached the patient. The attempt is a task (through the outbox)."""
    now = timezone.now()
    locked = _lock_stuck(reminder, now)
    appointment = locked.appointment
    if appointment.status != Appointment.Status.BOOKED or appointment.start <= now:
        raise ReminderRefused(
            _("Ce rendez-vous est annulé ou passé : le rappel n'a plus lieu d'être.")
        )
    _handled(locked, Reminder.Status.RESEND, actor, now)
    outbox.enqueue(
        "appointments.tasks.reminder_deliver", practice_id=locked.practice_id, reminder_id=locked.pk
    )
    return locked


@transaction.atomic
def reminder_dismiss(*, reminder: Reminder, actor: Actor) -> Reminder:
    """A person decides a stuck reminder is not sent again (the patient was
    called, or the first attempt is known to have arrived)."""
    now = timezone.now()
    locked = _lock_stuck(reminder, now)
    _handled(locked, Reminder.Status.DISMISSED, actor, now)
    return locked


def reminder_deliver(*, practice_id: int, reminder_id: int) -> str:
    """The attempt a person asked for (a task): claimed again and committed
    before sending (the practice scope is a transaction), like the first, so a
    worker lost now leaves it pending (and listed) again, never sent twice by a
    retry. Consent and the appointment are checked anew."""
    with practice_scope(practice_id):
        reminder = (
            Reminder.objects.select_for_update(of=("self",))
            .select_related("appointment__practice", "appointment__patient")
            .filter(pk=reminder_id, status=Reminder.Status.RESEND)
            .first()
        )
        if reminder is None:
            return "already"
        appointment = reminder.appointment
        reminder.channel, address = _channel(appointment)
        reminder.destination = masked(address)
        bookable = appointment.status == Appointment.Status.BOOKED
        sendable = bool(address) and bookable
        reminder.status = Reminder.Status.PENDING if sendable else Reminder.Status.SKIPPED
        reminder.claimed_at = timezone.now()
        reminder.save(update_fields=["channel", "destination", "status", "claimed_at"])
    if sendable:
        SENDERS[reminder.channel](appointment, address)
    with practice_scope(practice_id):
        if sendable:
            _sent(reminder)
        record_event(
            actor=Actor.system("reminders"),
            action=Action.UPDATE,
            practice=reminder.practice_id,
            object_type=ObjectType.REMINDER,
            object_id=reminder.pk,
            detail={
                "appointment": str(appointment.pk),
                "channel": reminder.channel,
                "status": reminder.status,
                "resent": True,
            },
        )
    return reminder.status


def _send_email(appointment: Appointment, address: str) -> None:
    local = appointment.start.astimezone(practice_zone(appointment.practice))
    with override(settings.LANGUAGE_CODE):
        when = date_format(local, "l j F Y à H:i")
        subject = _("Rappel de votre rendez-vous")
        body = _(
            "Bonjour,\n\nNous vous rappelons votre rendez-vous le %(when)s au %(practice)s.\n"
            "En cas d'empêchement, merci de prévenir le cabinet.\n"
        ) % {"when": when, "practice": appointment.practice.name}
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])


def sms_body(appointment: Appointment) -> str:
    """Practice, date and time: nothing else (no reason, type or specialty)."""
    local = appointment.start.astimezone(practice_zone(appointment.practice))
    with override(settings.LANGUAGE_CODE):
        return _(
            "Rappel : rendez-vous le %(date)s à %(time)s, %(practice)s. "
            "En cas d'empêchement, merci de prévenir le cabinet."
        ) % {
            "date": date_format(local, "l j F"),
            "time": date_format(local, "H:i"),
            "practice": appointment.practice.name,
        }


def _send_sms(appointment: Appointment, number: str) -> None:
    sms.send_sms(number, sms_body(appointment))


SENDERS: dict[str, Callable[[Appointment, str], None]] = {
    "email": _send_email,
    "sms": _send_sms,
}
