"""Call messages: left by the telesecretariat for a practitioner, handled by them."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Practice, User
from appointments.models import (
    CallMessage,
)
from appointments.services.base import (
    BookingError,
    audit_change,
    check_practitioner,
    check_text,
)
from audit.context import Actor
from audit.models import Action
from audit.services import record_event
from patients import keys

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
    check_practitioner(practice, practitioner)
    if patient is not None and patient.practice_id != practice.pk:
        raise BookingError(_("Ce patient n'est pas un patient de ce cabinet."))
    if not text.strip() or len(text) > MESSAGE_MAX_LENGTH:
        raise BookingError(_("Le message doit compter entre 1 et 2000 caractères."))
    check_text(text)
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
    audit_change(message, Action.UPDATE, actor, {"change": "handled"}, "call_message")
    return message
