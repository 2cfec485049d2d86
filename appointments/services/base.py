"""What the appointment services share: the errors they raise, the checks
of a slot and a type, the practitioner's lock, the history row and the audit
event of a change.

Double booking is refused twice: here, under a lock on the practitioner's user
row (which serialises bookings of one practitioner in every practice), with a
clear message; and on PostgreSQL by the exclusion constraint (per practice since
migration 0012), which holds even behind the application's back. Its
IntegrityError becomes the same SlotTaken, never a 500.
"""

from datetime import UTC, datetime

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Practice, User
from appointments import rules, selectors, slots
from appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentType,
    PractitionerSettings,
)
from audit.context import Actor
from audit.models import Action, ObjectType
from audit.services import record_event
from secretariat import inputs

NO_OVERLAP_CONSTRAINT = "appointment_no_overlap"


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


def check_type(practice: Practice, appointment_type: AppointmentType, actor: Actor) -> None:
    if appointment_type.practice_id != practice.pk or not appointment_type.active:
        raise BookingError(_("Ce type de rendez-vous n'est pas disponible."))
    if not rules.may_book_type(actor, appointment_type):
        raise TypeNotBookable(_(TypeNotBookable.message))


def check_date(moment: datetime) -> None:
    """The last word on a booking's date (docs/decisions.md, "Bounded input"),
    checked on the datetime as given, before any move to UTC could overflow."""
    inputs.SCHEDULE.check(moment, error=BookingError)


def check_text(*values: str) -> None:
    """Free text shown to others: no control or bidirectional-override characters."""
    inputs.check_text(*values, multiline=True, error=BookingError)


def check_practitioner(practice: Practice, practitioner: User | None) -> None:
    """The last word on "this practitioner works here": views pass what they
    fetched within the practice (None for an id that is not a practitioner of
    it), tasks and the API what they hold."""
    if (
        practitioner is None
        or selectors.practitioner_in_practice(practice, practitioner.pk) is None
    ):
        raise BookingError(_("Ce praticien n'exerce pas dans ce cabinet."))


def check_slot(
    practice: Practice,
    appointment_type: AppointmentType,
    practitioner: User | None,
    start: datetime,
) -> None:
    check_date(start)
    check_practitioner(practice, practitioner)
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


def lock_practitioner(practice: Practice, practitioner: User) -> None:
    """Take the practitioner's locks for the rest of the transaction: first the
    person's, across practices, then their schedule's in this practice."""
    # A practitioner working for several practices is one person, busy in all
    # of them. The exclusion constraint is per practice (migration 0012: Citus
    # needs practice_id in it), so two bookings of one practitioner in two
    # practices are serialised here: one user row for every practice (a
    # reference table under Citus, where a row lock holds on every node); the
    # second booking then sees the first in the busy time read across practices.
    # First, always: every path takes the two locks in this order.
    User.objects.select_for_update(no_key=True).filter(pk=practitioner.pk).values_list("pk").get()
    PractitionerSettings.objects.bulk_create(
        [PractitionerSettings(practice=practice, practitioner=practitioner)],
        ignore_conflicts=True,
    )
    PractitionerSettings.objects.select_for_update().filter(
        practice=practice, practitioner=practitioner
    ).get()


def save_or_slot_taken(appointment: Appointment, **kwargs) -> None:
    try:
        with transaction.atomic():
            appointment.save(**kwargs)
    except IntegrityError as error:
        if NO_OVERLAP_CONSTRAINT in str(error):
            raise SlotTaken() from None
        raise


def history_event(appointment: Appointment, kind: str, actor: Actor, **detail) -> None:
    AppointmentEvent.objects.create(
        practice_id=appointment.practice_id,
        appointment=appointment,
        kind=kind,
        by=actor.user,
        detail=detail,
    )


def audit_change(
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


def times(appointment: Appointment) -> dict:
    return {
        "start": appointment.start.astimezone(UTC).isoformat(),
        "end": appointment.end.astimezone(UTC).isoformat(),
        "practitioner": appointment.practitioner_id,
    }


def locked(appointment: Appointment) -> Appointment:
    """The appointment re-read under a row lock, with what the services need."""
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("appointment_type", "practitioner", "practice")
        .filter(practice_id=appointment.practice_id)
        .get(pk=appointment.pk)
    )
