"""State changes of appointments. Each runs in one transaction with its
AppointmentEvent and its audit event.

Double booking is refused twice: here, under a lock on the practitioner's
settings row (which serialises bookings of one practitioner), with a clear
message; and on PostgreSQL by the exclusion constraint (migration 0002), which
holds even behind the application's back. Its IntegrityError becomes the same
SlotTaken, never a 500.
"""

from datetime import UTC, datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Practice, User
from accounts.roles import Role
from appointments import selectors, slots, starter
from appointments.models import (
    Absence,
    Appointment,
    AppointmentEvent,
    AppointmentSeries,
    AppointmentType,
    CallMessage,
    PractitionerSettings,
    WaitingListEntry,
    WorkingHours,
)
from audit.context import Actor
from audit.models import Action, ObjectType
from audit.services import record_event
from patients import keys

NO_OVERLAP_CONSTRAINT = "appointment_no_overlap"
REASON_MAX_LENGTH = 500

STATUS_TRANSITIONS = {
    Appointment.Status.BOOKED: {
        Appointment.Status.ARRIVED,
        Appointment.Status.NO_SHOW,
        Appointment.Status.DONE,
    },
    Appointment.Status.ARRIVED: {Appointment.Status.DONE},
}


class BookingError(Exception):
    """A request that cannot be honoured as asked; the message is for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SlotTaken(BookingError):
    def __init__(self) -> None:
        super().__init__(
            _(
                "Ce créneau vient tout juste d'être pris. "
                "Voici de nouvelles propositions : choisissez-en une autre."
            )
        )


class TypeNotBookable(PermissionDenied):
    """A telesecretary asked for a type the practice keeps for itself."""

    message = "Ce type de rendez-vous n'est pas réservable par le télésecrétariat."


def _check_type(practice: Practice, appointment_type: AppointmentType, actor: Actor) -> None:
    if appointment_type.practice_id != practice.pk or not appointment_type.active:
        raise BookingError(_("Ce type de rendez-vous n'est pas disponible."))
    if actor.role == Role.TELESECRETARY and not appointment_type.bookable_by_telesecretary:
        raise TypeNotBookable(_(TypeNotBookable.message))


def _check_slot(
    practice: Practice, appointment_type: AppointmentType, practitioner: User, start: datetime
) -> None:
    if selectors.practitioner_in_practice(practice, practitioner.pk) is None:
        raise BookingError(_("Ce praticien n'exerce pas dans ce cabinet."))
    if start <= timezone.now():
        raise BookingError(_("Ce créneau est déjà passé."))
    if not slots.slot_on_grid(
        practice=practice,
        appointment_type=appointment_type,
        practitioner=practitioner,
        start=start,
    ):
        raise BookingError(
            _(
                "Ce créneau ne figure pas dans l'agenda du praticien : hors de ses horaires "
                "ou décalé par rapport à ses créneaux."
            )
        )


def _lock_practitioner(practice: Practice, practitioner: User) -> None:
    """Take the practitioner's lock for the rest of the transaction."""
    PractitionerSettings.objects.bulk_create(
        [PractitionerSettings(practice=practice, practitioner=practitioner)],
        ignore_conflicts=True,
    )
    PractitionerSettings.objects.select_for_update().filter(
        practice=practice, practitioner=practitioner
    ).get()


def _save_or_slot_taken(appointment: Appointment, **kwargs) -> None:
    try:
        with transaction.atomic():
            appointment.save(**kwargs)
    except IntegrityError as error:
        if NO_OVERLAP_CONSTRAINT in str(error):
            raise SlotTaken() from None
        raise


def _event(appointment: Appointment, kind: str, actor: Actor, **detail) -> None:
    AppointmentEvent.objects.create(
        practice_id=appointment.practice_id,
        appointment=appointment,
        kind=kind,
        by=actor.user,
        detail=detail,
    )


def _audit(
    row, action: Action, actor: Actor, detail: dict, object_type: str = ObjectType.APPOINTMENT
) -> None:
    """The audit event of a change made by these services to one tenant row."""
    record_event(
        actor=actor,
        action=action,
        practice=row.practice_id,
        object_type=object_type,
        object_id=row.pk,
        detail=detail,
    )


def _times(appointment: Appointment) -> dict:
    return {
        "start": appointment.start.astimezone(UTC).isoformat(),
        "end": appointment.end.astimezone(UTC).isoformat(),
        "practitioner": appointment.practitioner_id,
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
    # In UTC before any arithmetic: adding minutes to a datetime in a DST zone
    # is wall-clock arithmetic in Python, wrong across a change.
    start = start.astimezone(UTC)
    if patient.practice_id != practice.pk:
        raise BookingError(_("Ce patient n'est pas un patient de ce cabinet."))
    if len(reason) > REASON_MAX_LENGTH:
        raise BookingError(_("Le motif est trop long."))
    _check_type(practice, appointment_type, actor)
    _check_slot(practice, appointment_type, practitioner, start)
    end = start + timedelta(minutes=appointment_type.duration_minutes)
    _lock_practitioner(practice, practitioner)
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
    _save_or_slot_taken(appointment, force_insert=True)
    keys.count_encryptions(practice.pk, appointment.key_version, count)
    _event(appointment, AppointmentEvent.Kind.CREATED, actor, **_times(appointment))
    _audit(
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
    WaitingListEntry.objects.filter(
        practice=practice,
        patient=patient,
        appointment_type=appointment_type,
        resolved_at__isnull=True,
    ).update(resolved_at=timezone.now())
    return appointment


@transaction.atomic
def appointment_move(
    *,
    appointment: Appointment,
    start: datetime,
    practitioner: User | None = None,
    actor: Actor,
) -> Appointment:
    start = start.astimezone(UTC)  # see appointment_book
    appointment = _locked(appointment)
    practice = appointment.practice
    if appointment.status != Appointment.Status.BOOKED:
        raise BookingError(_("Seul un rendez-vous réservé peut être déplacé."))
    practitioner = practitioner or appointment.practitioner
    appointment_type = appointment.appointment_type
    _check_type(practice, appointment_type, actor)
    _check_slot(practice, appointment_type, practitioner, start)
    end = start + timedelta(minutes=appointment_type.duration_minutes)
    _lock_practitioner(practice, practitioner)
    if slots.slot_is_busy(
        practice=practice,
        practitioner=practitioner,
        start=start,
        end=end,
        exclude_appointment_id=appointment.pk,
    ):
        raise SlotTaken()
    before = _times(appointment)
    appointment.practitioner = practitioner
    appointment.start = start
    appointment.end = end
    _save_or_slot_taken(appointment, update_fields=["practitioner", "start", "end", "updated_at"])
    after = _times(appointment)
    _event(appointment, AppointmentEvent.Kind.MOVED, actor, before=before, after=after)
    _audit(
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
    appointment = _locked(appointment)
    if appointment.status != Appointment.Status.BOOKED:
        raise BookingError(_("Seul un rendez-vous réservé peut être annulé."))
    if category not in Appointment.CancellationCategory.values:
        raise BookingError(_("Choisissez un motif d'annulation."))
    appointment.status = Appointment.Status.CANCELLED
    appointment.cancellation_category = category
    appointment.save(update_fields=["status", "cancellation_category", "updated_at"])
    _event(appointment, AppointmentEvent.Kind.CANCELLED, actor, category=category)
    _audit(
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
    appointment = _locked(appointment)
    previous = appointment.status
    if status not in STATUS_TRANSITIONS.get(previous, ()):
        raise BookingError(_("Ce changement de statut n'est pas possible."))
    zone = selectors.practice_zone(appointment.practice)
    if appointment.start.astimezone(zone).date() > timezone.now().astimezone(zone).date():
        # Arrived, absent or done make sense from the appointment's day on only.
        raise BookingError(_("Ce rendez-vous n'a pas encore eu lieu."))
    appointment.status = status
    appointment.save(update_fields=["status", "updated_at"])
    _event(appointment, AppointmentEvent.Kind.STATUS, actor, before=previous, after=status)
    _audit(
        appointment,
        Action.UPDATE,
        actor,
        {"change": "status", "status": status},
    )
    return appointment


def _locked(appointment: Appointment) -> Appointment:
    """The appointment re-read under a row lock, with what the services need."""
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("appointment_type", "practitioner", "practice")
        .filter(practice_id=appointment.practice_id)
        .get(pk=appointment.pk)
    )


# Call messages -------------------------------------------------------------

MESSAGE_MAX_LENGTH = 2000


@transaction.atomic
def call_message_leave(
    *,
    practice: Practice,
    practitioner: User,
    text: str,
    urgent: bool = False,
    patient=None,
    actor: Actor,
) -> CallMessage:
    if selectors.practitioner_in_practice(practice, practitioner.pk) is None:
        raise BookingError(_("Ce praticien n'exerce pas dans ce cabinet."))
    if patient is not None and patient.practice_id != practice.pk:
        raise BookingError(_("Ce patient n'est pas un patient de ce cabinet."))
    if not text.strip() or len(text) > MESSAGE_MAX_LENGTH:
        raise BookingError(_("Le message doit compter entre 1 et 2000 caractères."))
    message = CallMessage(
        practice=practice,
        practitioner=practitioner,
        patient=patient,
        urgent=urgent,
        author=actor.user,
    )
    count = message.write({"text": text})
    message.save(force_insert=True)
    keys.count_encryptions(practice.pk, message.key_version, count)
    record_event(
        actor=actor,
        action=Action.CREATE,
        practice=practice,
        object_type="call_message",
        object_id=message.pk,
        detail={
            "practitioner": practitioner.pk,
            "patient": str(patient.pk) if patient else None,
            "urgent": urgent,
        },
    )
    return message


@transaction.atomic
def call_message_handle(*, message: CallMessage, actor: Actor) -> CallMessage:
    message = (
        CallMessage.objects.select_for_update()
        .filter(practice_id=message.practice_id)
        .get(pk=message.pk)
    )
    if message.handled_at is None:
        message.handled_at = timezone.now()
        message.handled_by = actor.user
        message.save(update_fields=["handled_at", "handled_by"])
    _audit(message, Action.UPDATE, actor, {"change": "handled"}, "call_message")
    return message


# Recurring series -----------------------------------------------------------

SERIES_MAX = 52


def series_starts(
    practice: Practice, first_start: datetime, every_weeks: int, count: int
) -> list[datetime]:
    """The same local weekday and time every `every_weeks` weeks, rebuilt on
    each date's own UTC offset (09:00 stays 09:00 across a DST change)."""
    zone = selectors.practice_zone(practice)
    local = first_start.astimezone(zone)
    return [
        datetime.combine(
            local.date() + timedelta(weeks=every_weeks * index), local.time(), tzinfo=zone
        ).astimezone(UTC)
        for index in range(count)
    ]


@transaction.atomic
def appointment_series_book(
    *,
    practice: Practice,
    practitioner: User,
    patient,
    appointment_type: AppointmentType,
    first_start: datetime,
    every_weeks: int,
    count: int,
    reason: str,
    actor: Actor,
) -> AppointmentSeries:
    """All occurrences or none: when some cannot be booked, nothing is, and the
    error names the dates that failed so that another time can be chosen."""
    if not 1 <= every_weeks <= 8 or not 2 <= count <= SERIES_MAX:
        raise BookingError(_("Une série compte de 2 à 52 rendez-vous, espacés de 1 à 8 semaines."))
    series = AppointmentSeries.objects.create(
        practice=practice,
        practitioner=practitioner,
        every_weeks=every_weeks,
        count=count,
        created_by=actor.user,
    )
    failed: list[str] = []
    zone = selectors.practice_zone(practice)
    for start in series_starts(practice, first_start, every_weeks, count):
        try:
            appointment_book(
                practice=practice,
                practitioner=practitioner,
                patient=patient,
                appointment_type=appointment_type,
                start=start,
                reason=reason,
                actor=actor,
                series=series,
            )
        except TypeNotBookable:
            raise
        except BookingError:
            failed.append(start.astimezone(zone).strftime("%d/%m/%Y"))
    if failed:
        raise BookingError(
            _("Série non réservée : ces dates ne sont pas libres à cette heure : %(dates)s.")
            % {"dates": ", ".join(failed)}
        )
    record_event(
        actor=actor,
        action=Action.CREATE,
        practice=practice,
        object_type="appointment_series",
        object_id=series.pk,
        detail={"count": count, "every_weeks": every_weeks, "patient": str(patient.pk)},
    )
    return series


@transaction.atomic
def appointment_series_cancel(
    *,
    appointment: Appointment,
    category: str,
    actor: Actor,
) -> int:
    """Cancel this occurrence and every later booked one of its series."""
    if appointment.series_id is None:
        raise BookingError(_("Ce rendez-vous ne fait pas partie d'une série."))
    later = Appointment.objects.filter(
        practice_id=appointment.practice_id,
        series_id=appointment.series_id,
        status=Appointment.Status.BOOKED,
        start__gte=appointment.start,
    ).order_by("start")
    cancelled = 0
    for occurrence in later:
        appointment_cancel(appointment=occurrence, category=category, actor=actor)
        cancelled += 1
    return cancelled


# Waiting list -----------------------------------------------------------------


@transaction.atomic
def waiting_list_add(
    *,
    practice: Practice,
    patient,
    appointment_type: AppointmentType,
    practitioner: User | None = None,
    actor: Actor,
) -> WaitingListEntry:
    """Idempotent: an open entry for the same patient and type is kept."""
    if patient.practice_id != practice.pk or appointment_type.practice_id != practice.pk:
        raise BookingError(_("Ce patient n'est pas un patient de ce cabinet."))
    _check_type(practice, appointment_type, actor)
    entry = WaitingListEntry.objects.filter(
        practice=practice, patient=patient, appointment_type=appointment_type, resolved_at=None
    ).first()
    if entry is None:
        entry = WaitingListEntry.objects.create(
            practice=practice,
            patient=patient,
            appointment_type=appointment_type,
            practitioner=practitioner,
            created_by=actor.user,
        )
    record_event(
        actor=actor,
        action=Action.CREATE,
        practice=practice,
        object_type="waiting_list_entry",
        object_id=entry.pk,
        detail={"patient": str(patient.pk), "appointment_type": appointment_type.pk},
    )
    return entry


@transaction.atomic
def waiting_list_resolve(
    *,
    entry: WaitingListEntry,
    actor: Actor,
) -> WaitingListEntry:
    if entry.resolved_at is None:
        entry.resolved_at = timezone.now()
        entry.save(update_fields=["resolved_at"])
    _audit(
        entry,
        Action.UPDATE,
        actor,
        {"change": "resolved"},
        "waiting_list_entry",
    )
    return entry


# Schedules (practice settings) -------------------------------------------------


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
    created = appointment_type._state.adding
    appointment_type.save()
    _settings_event(
        actor,
        appointment_type.practice_id,
        "appointment_type",
        appointment_type.pk,
        "create" if created else "update",
    )
    return appointment_type


def _check_practitioner(practice: Practice, practitioner: User) -> None:
    if selectors.practitioner_in_practice(practice, practitioner.pk) is None:
        raise BookingError(_("Ce praticien n'exerce pas dans ce cabinet."))


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
    _check_practitioner(practice, practitioner)
    if end_time <= start_time:
        raise BookingError(_("La fin doit suivre le début."))
    _lock_practitioner(practice, practitioner)
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
    _check_practitioner(practice, practitioner)
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
    _check_practitioner(practice, practitioner)
    if end <= start:
        raise BookingError(_("La fin doit suivre le début."))
    if reason not in Absence.Reason.values:
        raise BookingError(_("Motif inconnu."))
    absence = Absence.objects.create(
        practice=practice, practitioner=practitioner, start=start, end=end, reason=reason
    )
    clashes = (
        Appointment.objects.filter(
            practice=practice, practitioner=practitioner, start__lt=end, end__gt=start
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
    scheduled = [
        doctor for doctor in selectors.practitioners(practice) if _starter_hours(practice, doctor)
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
