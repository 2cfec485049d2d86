"""Booking, moving, cancelling an appointment and setting its status. Each
runs in one transaction with its AppointmentEvent and its audit event."""

from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Practice, User
from appointments import rules, slots
from appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentSeries,
    AppointmentType,
    WaitingListEntry,
)
from appointments.services.base import (
    BookingError,
    SlotTaken,
    audit_change,
    check_date,
    check_slot,
    check_text,
    check_type,
    history_event,
    lock_practitioner,
    locked,
    save_or_slot_taken,
    times,
)
from audit.context import Actor
from audit.models import Action
from patients import keys

REASON_MAX_LENGTH = 500


STATUS_TRANSITIONS = {
    Appointment.Status.BOOKED: {
        Appointment.Status.ARRIVED,
        Appointment.Status.NO_SHOW,
        Appointment.Status.DONE,
    },
    Appointment.Status.ARRIVED: {Appointment.Status.DONE},
}


@transaction.atomic
def appointment_book(
    *,
    practice: Practice,
    practitioner: User,
    patient,
    appointment_type: AppointmentType,
    start: datetime,
    reason: str,
    actor: Actor,
    series: AppointmentSeries | None = None,
) -> Appointment:
    """Book the slot or raise BookingError / SlotTaken / TypeNotBookable. An
    open waiting-list entry of the patient for this type is resolved."""
    check_date(start)
    check_text(reason)
    # In UTC before any arithmetic: adding minutes to a datetime in a DST zone
    # is wall-clock arithmetic in Python, wrong across a change.
    start = start.astimezone(UTC)
    if patient.practice_id != practice.pk:
        raise BookingError(_("Ce patient n'est pas un patient de ce cabinet."))
    if len(reason) > REASON_MAX_LENGTH:
        raise BookingError(_("Le motif est trop long."))
    check_type(practice, appointment_type, actor)
    check_slot(practice, appointment_type, practitioner, start)
    end = start + timedelta(minutes=appointment_type.duration_minutes)
    lock_practitioner(practice, practitioner)
    if slots.slot_is_busy(practice=practice, practitioner=practitioner, start=start, end=end):
        raise SlotTaken()
    appointment = Appointment(
        practice=practice,
        practitioner=practitioner,
        patient=patient,
        appointment_type=appointment_type,
        start=start,
        end=end,
        created_by=actor.user,
        series=series,
    )
    count = appointment.write({"reason": reason})
    save_or_slot_taken(appointment, force_insert=True)
    keys.count_encryptions(practice.pk, appointment.key_version, count)
    history_event(appointment, AppointmentEvent.Kind.CREATED, actor, **times(appointment))
    WaitingListEntry.objects.filter(
        practice=practice,
        patient=patient,
        appointment_type=appointment_type,
        resolved_at__isnull=True,
    ).update(resolved_at=timezone.now())
    # Last: the append locks the practice's audit chain until the commit, so
    # every other audited action of the practice waits only for the commit.
    audit_change(
        appointment,
        Action.CREATE,
        actor,
        {
            "patient": str(patient.pk),
            "practitioner": practitioner.pk,
            "appointment_type": appointment_type.pk,
            "series": series.pk if series else None,
        },
    )
    return appointment


@transaction.atomic
def appointment_move(
    *,
    appointment: Appointment,
    start: datetime,
    practitioner: User | None = None,
    actor: Actor,
) -> Appointment:
    check_date(start)
    start = start.astimezone(UTC)  # see appointment_book
    appointment = locked(appointment)
    practice = appointment.practice
    if appointment.status != Appointment.Status.BOOKED:
        raise BookingError(_("Seul un rendez-vous réservé peut être déplacé."))
    practitioner = practitioner or appointment.practitioner
    appointment_type = appointment.appointment_type
    check_type(practice, appointment_type, actor)
    check_slot(practice, appointment_type, practitioner, start)
    end = start + timedelta(minutes=appointment_type.duration_minutes)
    lock_practitioner(practice, practitioner)
    if slots.slot_is_busy(
        practice=practice,
        practitioner=practitioner,
        start=start,
        end=end,
        exclude_appointment_id=appointment.pk,
    ):
        raise SlotTaken()
    before = times(appointment)
    appointment.practitioner = practitioner
    appointment.start = start
    appointment.end = end
    save_or_slot_taken(appointment, update_fields=["practitioner", "start", "end", "updated_at"])
    after = times(appointment)
    history_event(appointment, AppointmentEvent.Kind.MOVED, actor, before=before, after=after)
    audit_change(
        appointment,
        Action.UPDATE,
        actor,
        {"change": "moved", "practitioner": practitioner.pk},
    )
    return appointment


@transaction.atomic
def appointment_cancel(
    *,
    appointment: Appointment,
    category: str,
    actor: Actor,
) -> Appointment:
    appointment = locked(appointment)
    if appointment.status != Appointment.Status.BOOKED:
        raise BookingError(_("Seul un rendez-vous réservé peut être annulé."))
    if category not in Appointment.CancellationCategory.values:
        raise BookingError(_("Choisissez un motif d'annulation."))
    appointment.status = Appointment.Status.CANCELLED
    appointment.cancellation_category = category
    appointment.save(update_fields=["status", "cancellation_category", "updated_at"])
    history_event(appointment, AppointmentEvent.Kind.CANCELLED, actor, category=category)
    audit_change(
        appointment,
        Action.UPDATE,
        actor,
        {"change": "cancelled", "category": category},
    )
    return appointment


@transaction.atomic
def appointment_set_status(
    *,
    appointment: Appointment,
    status: str,
    actor: Actor,
) -> Appointment:
    appointment = locked(appointment)
    previous = appointment.status
    if status not in STATUS_TRANSITIONS.get(previous, ()):
        raise BookingError(_("Ce changement de statut n'est pas possible."))
    if not rules.status_change_open(appointment, timezone.now()):
        raise BookingError(_("Ce rendez-vous n'a pas encore eu lieu."))
    appointment.status = status
    appointment.save(update_fields=["status", "updated_at"])
    history_event(appointment, AppointmentEvent.Kind.STATUS, actor, before=previous, after=status)
    audit_change(
        appointment,
        Action.UPDATE,
        actor,
        {"change": "status", "status": status},
    )
    return appointment
