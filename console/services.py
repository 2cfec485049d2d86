"""State changes made from the call console. Each runs in one transaction and
goes through the owning app's services, which write the audit events."""

import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Practice, User
from appointments.models import CallMessage
from appointments.services.call_messages import call_message_handle, call_message_leave
from audit.context import Actor
from audit.models import Action
from audit.services import record_event
from console import ring, selectors
from console.cti import CallEvent
from console.models import Call, MessageReply, PhoneLine
from patients import keys, normalise
from patients import services as patient_services
from patients.models import Consent, Patient
from patients.services import Identity

CALL = "call"


@transaction.atomic
def caller_register(
    *,
    practice: Practice,
    identity: Identity,
    sms_consent: bool,
    duplicate_confirmed: bool,
    actor: Actor,
) -> Patient:
    """A new caller: the patient and, when they agreed on the phone, their
    consent to SMS reminders, both or neither."""
    patient = patient_services.patient_create(
        practice=practice,
        identity=identity,
        actor=actor,
        duplicate_confirmed=duplicate_confirmed,
    )
    if sms_consent:
        patient_services.consent_record(
            patient=patient, purpose=Consent.Purpose.SMS_REMINDERS, actor=actor
        )
    return patient


STATE_ORDER = [Call.State.RINGING, Call.State.ANSWERED, Call.State.ENDED]


def _agent(practice: Practice, login: str) -> User | None:
    """The user the phone system names, when they may book for the practice."""
    if not login:
        return None
    return selectors.agent_for(practice, login)


def _new_call(practice: Practice, line: PhoneLine, event: CallEvent) -> Call:
    call = Call(practice=practice, line=line, call_id=event.call_id, started_at=timezone.now())
    caller = (normalise.phone(event.caller) if event.caller else None) or ""
    count = call.write({"caller": caller})
    keys.count_encryptions(practice.pk, call.key_version, count)
    if caller:
        call.caller_bidx = keys.practice_keys(practice.pk).blind_index("phone", caller)
    return call


# No savepoint: the caller's transaction (the webhook's, opened by its practice
# scope) is this one, and an error dooms it, which the webhook ends at once. A
# savepoint cost each event two statements (SAVEPOINT, RELEASE) of its nine.
@transaction.atomic(savepoint=False)
def call_event_record(*, line: PhoneLine, event: CallEvent, actor: Actor) -> tuple[Call, bool]:
    """Record one phone system event on its call, idempotently: the call is
    created once per call id, its state only moves forward, an event seen
    before changes nothing. Returns the call and whether anything changed."""
    practice = line.practice
    call = Call.objects.select_for_update().filter(practice=practice, call_id=event.call_id).first()
    created = call is None
    if created:
        call = _new_call(practice, line, event)
    changed = created
    target = Call.State(event.event)
    if STATE_ORDER.index(target) > STATE_ORDER.index(call.state):
        call.state = target
        stamp = "answered_at" if target == Call.State.ANSWERED else "ended_at"
        setattr(call, stamp, timezone.now())
        changed = True
    # The agent is set once: later events of the call need not look them up.
    agent = _agent(practice, event.agent) if call.agent_id is None else None
    if agent is not None:
        call.agent = agent
        changed = True
    if changed:
        call.save(force_insert=created)
        if call.agent_id is not None:
            # After the commit: a console whose poll sees the marker move must
            # find the call in the database.
            agent_id = call.agent_id
            transaction.on_commit(lambda: ring.marker_move(agent_id))
    record_event(
        actor=actor,
        action=Action.CREATE if created else Action.UPDATE,
        practice=practice,
        object_type=CALL,
        object_id=call.pk,
        detail={"event": event.event, "changed": changed, "agent": call.agent_id},
    )
    return call, changed


@transaction.atomic
def call_outcome_set(*, practice: Practice, call: Call | None, outcome: str, actor: Actor) -> Call:
    """What the call came to (item 5), on the phone system's call or, for a call
    taken by hand, on a call record made now. The last outcome stands."""
    if outcome not in Call.Outcome.values:
        raise ValueError(outcome)
    created = call is None
    if created:
        now = timezone.now()
        call = Call(
            practice=practice,
            call_id=f"manual-{uuid.uuid4()}",
            source=Call.Source.BY_HAND,
            agent=actor.user,
            state=Call.State.ENDED,
            started_at=now,
            ended_at=now,
        )
        call.write({"caller": ""})
    call.outcome = outcome
    call.save(force_insert=created)
    record_event(
        actor=actor,
        action=Action.CREATE if created else Action.UPDATE,
        practice=practice,
        object_type=CALL,
        object_id=call.pk,
        detail={"outcome": outcome, "source": call.source},
    )
    return call


class LineError(Exception):
    """A line refused, with its French reason."""


@transaction.atomic
def phone_line_add(*, practice: Practice, number: str, actor: Actor) -> PhoneLine:
    normalised = normalise.phone(number)
    if normalised is None:
        raise LineError(_("Numéro de téléphone invalide."))
    existing = PhoneLine.objects.filter(number=normalised).first()
    if existing is not None and existing.practice_id != practice.pk:
        raise LineError(_("Ce numéro est déjà celui d'un autre cabinet."))
    line = existing or PhoneLine.objects.create(practice=practice, number=normalised)
    record_event(
        actor=actor,
        action=Action.CREATE,
        practice=practice,
        object_type="phone_line",
        object_id=line.pk,
    )
    return line


@transaction.atomic
def phone_line_remove(*, practice: Practice, number: str, actor: Actor) -> None:
    normalised = normalise.phone(number) or number
    removed, _count = PhoneLine.objects.filter(practice=practice, number=normalised).delete()
    if not removed:
        raise LineError(_("Ce cabinet n'a pas ce numéro."))
    record_event(actor=actor, action=Action.DELETE, practice=practice, object_type="phone_line")


@transaction.atomic
def caller_message_leave(
    *,
    practice: Practice,
    practitioner: User | None,
    patient: Patient,
    text: str,
    callback: str,
    urgent: bool,
    call: Call | None,
    actor: Actor,
) -> CallMessage:
    """A message instead of a booking (item 4): left for the practitioner
    through the call messages service, the number to call back at the top of
    its sealed text, and the call recorded as ending in a message."""
    if practitioner is None:
        raise LineError(_("Choisissez un praticien du cabinet."))
    if callback:
        text = _("Rappeler au %(number)s") % {"number": callback} + "\n" + text
    message = call_message_leave(
        practice=practice,
        practitioner=practitioner,
        text=text,
        urgent=urgent,
        patient=patient,
        actor=actor,
    )
    call_outcome_set(practice=practice, call=call, outcome=Call.Outcome.MESSAGE, actor=actor)
    return message


@transaction.atomic
def message_reply(*, message: CallMessage, text: str, actor: Actor) -> MessageReply:
    """The practitioner's answer, for the patient's next call; the message is
    handled by it."""
    reply = MessageReply(
        practice_id=message.practice_id,
        message=message,
        patient_id=message.patient_id,
        author=actor.user,
    )
    count = reply.write({"text": text})
    keys.count_encryptions(message.practice_id, reply.key_version, count)
    reply.save(force_insert=True)
    call_message_handle(message=message, actor=actor)
    record_event(
        actor=actor,
        action=Action.CREATE,
        practice=message.practice_id,
        object_type="call_message_reply",
        object_id=reply.pk,
        detail={"message": str(message.pk)},
    )
    return reply
