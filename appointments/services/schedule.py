"""The practice's settings: appointment types, working hours, slot
granularity, absences, the starter agenda."""

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Practice, User
from appointments import selectors, starter
from appointments.models import (
    Absence,
    Appointment,
    AppointmentType,
    PractitionerSettings,
    WorkingHours,
    overlapping,
)
from appointments.services.base import (
    BookingError,
    check_date,
    check_practitioner,
    check_text,
    lock_practitioner,
)
from audit.context import Actor
from audit.models import Action
from audit.services import record_event


def _settings_event(
    actor: Actor, practice, object_type: str, object_id, change: str, **detail
) -> None:
    record_event(
        actor=actor,
        action={"create": Action.CREATE, "delete": Action.DELETE}.get(change, Action.UPDATE),
        practice=practice,
        object_type=object_type,
        object_id=object_id,
        detail={"change": change, **detail},
    )


@transaction.atomic
def appointment_type_save(*, appointment_type: AppointmentType, actor: Actor) -> AppointmentType:
    check_text(appointment_type.name, appointment_type.telesecretary_instructions)
    if appointment_type.is_default and not (
        appointment_type.active and appointment_type.bookable_by_telesecretary
    ):
        raise BookingError(
            _("Le type proposé par défaut doit être actif et réservable par le télésecrétariat.")
        )
    created = appointment_type._state.adding
    if appointment_type.is_default:
        # One default per practice: the new one takes the place (the unique
        # index would refuse a second).
        AppointmentType.objects.filter(
            practice_id=appointment_type.practice_id, is_default=True
        ).exclude(pk=appointment_type.pk).update(is_default=False)
    appointment_type.save()
    _settings_event(
        actor,
        appointment_type.practice_id,
        "appointment_type",
        appointment_type.pk,
        "create" if created else "update",
    )
    return appointment_type


@transaction.atomic
def working_hours_add(
    *,
    practice: Practice,
    practitioner: User,
    weekday: int,
    start_time,
    end_time,
    actor: Actor,
) -> WorkingHours:
    check_practitioner(practice, practitioner)
    if end_time <= start_time:
        raise BookingError(_("La fin doit suivre le début."))
    lock_practitioner(practice, practitioner)
    overlapping = WorkingHours.objects.filter(
        practice=practice,
        practitioner=practitioner,
        weekday=weekday,
        start_time__lt=end_time,
        end_time__gt=start_time,
    ).exists()
    if overlapping:
        raise BookingError(_("Cette plage chevauche une plage existante du même jour."))
    hours = WorkingHours.objects.create(
        practice=practice,
        practitioner=practitioner,
        weekday=weekday,
        start_time=start_time,
        end_time=end_time,
    )
    _settings_event(
        actor, practice, "working_hours", hours.pk, "create", practitioner=practitioner.pk
    )
    return hours


@transaction.atomic
def working_hours_delete(*, hours: WorkingHours, actor: Actor) -> None:
    _settings_event(
        actor,
        hours.practice_id,
        "working_hours",
        hours.pk,
        "delete",
        practitioner=hours.practitioner_id,
    )
    hours.delete()


@transaction.atomic
def slot_minutes_set(
    *,
    practice: Practice,
    practitioner: User,
    minutes: int,
    actor: Actor,
) -> PractitionerSettings:
    check_practitioner(practice, practitioner)
    row, _created = PractitionerSettings.objects.update_or_create(
        practice=practice, practitioner=practitioner, defaults={"slot_minutes": minutes}
    )
    _settings_event(actor, practice, "practitioner_settings", row.pk, "update", minutes=minutes)
    return row


@transaction.atomic
def absence_add(
    *,
    practice: Practice,
    practitioner: User,
    start: datetime,
    end: datetime,
    reason: str,
    actor: Actor,
) -> tuple[Absence, int]:
    """The absence, and how many booked appointments fall in it (they are not
    cancelled behind anyone's back: the page asks for them to be moved)."""
    check_practitioner(practice, practitioner)
    check_date(start)
    check_date(end)
    if end <= start:
        raise BookingError(_("La fin doit suivre le début."))
    if reason not in Absence.Reason.values:
        raise BookingError(_("Motif inconnu."))
    absence = Absence.objects.create(
        practice=practice, practitioner=practitioner, start=start, end=end, reason=reason
    )
    clashes = (
        Appointment.objects.filter(
            overlapping(start, end), practice=practice, practitioner=practitioner
        )
        .exclude(status=Appointment.Status.CANCELLED)
        .count()
    )
    _settings_event(
        actor,
        practice,
        "absence",
        absence.pk,
        "create",
        practitioner=practitioner.pk,
        appointments=clashes,
    )
    return absence, clashes


@transaction.atomic
def absence_delete(*, absence: Absence, actor: Actor):
    _settings_event(
        actor,
        absence.practice_id,
        "absence",
        absence.pk,
        "delete",
        practitioner=absence.practitioner_id,
    )
    absence.delete()


def _starter_type(practice: Practice, spec: tuple) -> tuple[AppointmentType, bool]:
    name, minutes, colour, bookable, instructions = spec
    return AppointmentType.objects.get_or_create(
        practice=practice,
        name=name,
        defaults={
            "duration_minutes": minutes,
            "colour": colour,
            "bookable_by_telesecretary": bookable,
            "telesecretary_instructions": instructions,
        },
    )


def _starter_hours(practice: Practice, practitioner: User) -> bool:
    PractitionerSettings.objects.get_or_create(practice=practice, practitioner=practitioner)
    if WorkingHours.objects.filter(practice=practice, practitioner=practitioner).exists():
        return False
    WorkingHours.objects.bulk_create(
        WorkingHours(
            practice=practice,
            practitioner=practitioner,
            weekday=weekday,
            start_time=start,
            end_time=end,
        )
        for weekday in starter.STARTER_WEEKDAYS
        for start, end in starter.STARTER_HOURS
    )
    return True


@transaction.atomic
def agenda_starter_apply(*, practice: Practice, actor: Actor) -> dict[str, int]:
    """Give the practice the starter appointment types, and its practitioners who
    have no hours yet the starter hours. Idempotent; the caller enters the scope."""
    types = [_starter_type(practice, spec) for spec in starter.STARTER_TYPES]
    if not AppointmentType.objects.filter(practice=practice, is_default=True).exists():
        # The first starter type (a plain consultation) is what most calls book.
        AppointmentType.objects.filter(pk=types[0][0].pk).update(is_default=True)
    scheduled = [
        doctor
        for doctor in selectors.practitioners(practice, unconfirmed_too=True)
        if _starter_hours(practice, doctor)
    ]
    counts = {"types": sum(created for _, created in types), "practitioners": len(scheduled)}
    record_event(
        actor=actor,
        action=Action.UPDATE,
        practice=practice,
        object_type="agenda_starter",
        object_id=practice.pk,
        detail=counts,
    )
    return counts
