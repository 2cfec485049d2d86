"""The waiting list: patients waiting for a slot of a type."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Practice, User
from appointments.models import (
    AppointmentType,
    WaitingListEntry,
)
from appointments.services.base import (
    BookingError,
    audit_change,
    check_type,
)
from audit.context import Actor
from audit.models import Action
from audit.services import record_event


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
    check_type(practice, appointment_type, actor)
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
    audit_change(
        entry,
        Action.UPDATE,
        actor,
        {"change": "resolved"},
        "waiting_list_entry",
    )
    return entry
