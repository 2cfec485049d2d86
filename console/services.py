"""State changes made from the call console. Each runs in one transaction and
goes through the owning app's services, which write the audit events."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import partial

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


@dataclass(frozen=True)
class PhoneEvent:
    """One phone system event, checked by the webhook: its line, when it came in
    and who posted it (the actor of its audit event)."""

    line: PhoneLine
    event: CallEvent
    at: datetime
    actor: Actor


def _new_call(practice: Practice, item: PhoneEvent) -> Call:
    call = Call(practice=practice, line=item.line, call_id=item.event.call_id, started_at=item.at)
    caller = (normalise.phone(item.event.caller) if item.event.caller else None) or ""
    count = call.write({"caller": caller})
    keys.count_encryptions(practice.pk, call.key_version, count)
    if caller:
        call.caller_bidx = keys.practice_keys(practice.pk).blind_index("phone", caller)
    return call


def _move_forward(call: Call, item: PhoneEvent) -> bool:
    """The call's state after the event: only forward, the time of each step kept."""
    target = Call.State(item.event.event)
    if STATE_ORDER.index(target) <= STATE_ORDER.index(call.state):
        return False
    call.state = target
    setattr(call, "answered_at" if target == Call.State.ANSWERED else "ended_at", item.at)
    return True


def call_event_record(*, item: PhoneEvent) -> tuple[Call, bool]:
    """One event: call_events_record for it alone."""
    return call_events_record(practice=item.line.practice, items=[item])[0]


# No savepoint: the caller's transaction (opened by its practice scope) is this
# one, and an error dooms it, which the caller ends at once.
@transaction.atomic(savepoint=False)
def call_events_record(*, practice: Practice, items: list[PhoneEvent]) -> list[tuple[Call, bool]]:
    """Record the practice's phone events, in the order given, idempotently: a
    call is created once per call id, its state only moves forward, the agent is
    set once, an event seen before changes nothing. One audit event for each.
    Returns, for each event, its call and whether it changed anything.

    A whole batch costs a few statements plus one audit append an event: the
    calls are locked in one query, the new ones inserted in one, the changed
    ones updated in one (docs/decisions.md, "The webhook: accepted, then
    recorded in batches")."""
    call_ids = {item.event.call_id for item in items}
    calls = {
        call.call_id: call
        for call in Call.objects.select_for_update().filter(practice=practice, call_id__in=call_ids)
    }
    existing, changed_ids, agents, results = set(calls), set(), {}, []
    for item in items:
        call = calls.get(item.event.call_id)
        created = call is None
        if created:
            call = calls[item.event.call_id] = _new_call(practice, item)
        changed = _move_forward(call, item) | created
        if call.agent_id is None and item.event.agent:
            if item.event.agent not in agents:
                agents[item.event.agent] = selectors.agent_for(practice, item.event.agent)
            call.agent = agents[item.event.agent]
            changed |= call.agent is not None
        if changed:
            changed_ids.add(call.call_id)
        results.append((call, changed, created))
    _save_calls(calls, existing, changed_ids)
    for item, (call, changed, created) in zip(items, results, strict=True):
        record_event(
            actor=item.actor,
            action=Action.CREATE if created else Action.UPDATE,
            practice=practice,
            object_type=CALL,
            object_id=call.pk,
            detail={"event": item.event.event, "changed": changed, "agent": call.agent_id},
        )
    return [(call, changed) for call, changed, _created in results]


def _save_calls(calls: dict[str, Call], existing: set[str], changed_ids: set[str]) -> None:
    Call.objects.bulk_create([calls[key] for key in changed_ids - existing])
    moved = [calls[key] for key in changed_ids & existing]
    if moved:
        Call.objects.bulk_update(moved, ["state", "answered_at", "ended_at", "agent"])
    agent_ids = {calls[key].agent_id for key in changed_ids} - {None}
    for agent_id in agent_ids:
        # After the commit: a console whose poll sees the marker move must
        # find the call in the database.
        transaction.on_commit(partial(ring.marker_move, agent_id))


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
