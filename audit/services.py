"""The one API every app calls to record an access or a change.

Call it inside the transaction of the change it describes; for reads, call it
before rendering, so that a failed write means the page is not served.

Recording only: the signed digests and their export are in audit/digests.py,
the month partitions in audit/partitions.py.
"""

from collections.abc import Iterable, Mapping

from django.utils import timezone

from audit import chain as chain_module
from audit.context import Actor
from audit.labels import DETAIL_LABELS
from audit.models import Action, ObjectType, Outcome

_MAX_DETAIL_STRING = 80
_ALLOWED_DETAIL_TYPES = (int, bool, type(None))


# ObjectType.values builds its list anew at each call: once here, not per event.
_OBJECT_TYPES = frozenset(ObjectType.values)

# record_event's default practice: the actor's (None names the platform chain).
_ACTOR_PRACTICE = object()


class AuditDetailError(TypeError):
    """Audit details hold identifiers, counts and flags; never free text. Each
    key and object type is named in French (audit/labels.py, ObjectType), so
    that no page, CSV or notice shows a code."""


def clean_detail(detail: Mapping | None) -> dict:
    """The detail as stored: identifiers, counts and flags (AuditDetailError
    otherwise). Compliance applies the same rules to an alert's detail."""
    clean: dict = {}
    for key, value in (detail or {}).items():
        if isinstance(value, str):
            if len(value) > _MAX_DETAIL_STRING:
                raise AuditDetailError(f"audit detail {key!r} is too long for an identifier")
        elif isinstance(value, list | tuple):
            if not all(isinstance(item, int | str) for item in value):
                raise AuditDetailError(f"audit detail {key!r} must list identifiers")
            value = list(value)
        elif not isinstance(value, _ALLOWED_DETAIL_TYPES):
            raise AuditDetailError(f"audit detail {key!r} has type {type(value).__name__}")
        clean[str(key)] = value
    return clean


def named_detail(detail: Mapping | None) -> dict:
    """clean_detail, each key named in French first (audit.labels.DETAIL_LABELS):
    what record_event and compliance's alerts store, so that no page, CSV or
    notice meets a key it cannot put in words."""
    for key in detail or {}:
        if key not in DETAIL_LABELS:
            raise AuditDetailError(f"detail key {key!r} has no name in audit.labels.DETAIL_LABELS")
    return clean_detail(detail)


def patients_shown(ids: Iterable) -> dict:
    """The detail naming the patients a page showed (by id, in the order shown):
    the patient's access report and own export find the event by it
    (selectors.patient_access_events). Every page listing patients adds it."""
    return {"patient_ids": list(dict.fromkeys(str(pk) for pk in ids))}


def record_event(
    *,
    actor: Actor | None,
    action: Action | str,
    practice: object = _ACTOR_PRACTICE,
    object_type: ObjectType | str = "",
    object_id: object = "",
    outcome: Outcome | str = Outcome.ALLOWED,
    detail: Mapping | None = None,
) -> chain_module.Appended:
    """Append one event to the practice's chain (`practice=None`: the platform
    chain). The practice defaults to the actor's; `actor=None` is an anonymous
    request seen from nowhere (rare: prefer `Actor.from_request` or
    `Actor.system`)."""
    if object_type and object_type not in _OBJECT_TYPES:
        raise AuditDetailError(f"object type {object_type!r} is not an audit.models.ObjectType")
    actor = actor or Actor()
    if practice is _ACTOR_PRACTICE:
        practice = actor.practice_id
    practice_id = getattr(practice, "pk", practice)
    content = {
        "occurred_at": timezone.now(),
        "actor_id": actor.user_id,
        "actor_username": actor.username,
        "role": actor.role,
        "action": str(action),
        "object_type": str(object_type),
        "object_id": str(object_id) if object_id not in (None, "") else "",
        "practice_id": practice_id,
        "outcome": str(outcome),
        "ip_address": actor.ip,
        "user_agent": actor.user_agent,
        "request_id": actor.request_id,
        "detail": named_detail(detail),
    }
    return chain_module.append_to(practice_id, content)
