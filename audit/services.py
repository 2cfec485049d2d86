"""The one API every app calls to record an access or a change.

Call it inside the transaction of the change it describes; for reads, call it
before rendering, so that a failed write means the page is not served.
"""

import hashlib
from collections.abc import Mapping

from django.http import HttpRequest
from django.utils import timezone

from audit import chain as chain_module
from audit.models import Action, AuditChain, AuditDigest, Outcome
from secretariat.net import client_ip

_MAX_DETAIL_STRING = 80
_ALLOWED_DETAIL_TYPES = (int, bool, type(None))


class AuditDetailError(TypeError):
    """Audit details hold identifiers, counts and flags; never free text."""


def _clean_detail(detail: Mapping | None) -> dict:
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


def _chain_key(practice_id: int | None) -> str:
    return f"practice:{practice_id}" if practice_id else "platform"


def record_event(
    *,
    action: Action | str,
    request: HttpRequest | None = None,
    actor=None,
    role: str | None = None,
    practice=None,
    object_type: str = "",
    object_id: object = "",
    outcome: Outcome | str = Outcome.ALLOWED,
    detail: Mapping | None = None,
) -> chain_module.Appended:
    """Append one event to the practice's chain (or the platform chain)."""
    if request is not None:
        user = getattr(request, "user", None)
        if actor is None and user is not None and user.is_authenticated:
            actor = user
        if role is None:
            role = getattr(request, "acting_role", "") or ""
        if practice is None:
            practice = getattr(request, "practice", None)
    practice_id = getattr(practice, "pk", practice)
    content = {
        "occurred_at": timezone.now(),
        "actor_id": getattr(actor, "pk", None),
        "actor_username": getattr(actor, "username", "") or "",
        "role": role or "",
        "action": str(action),
        "object_type": object_type,
        "object_id": str(object_id) if object_id not in (None, "") else "",
        "practice_id": practice_id,
        "outcome": str(outcome),
        "ip_address": client_ip(request) if request is not None else "",
        "user_agent": (request.META.get("HTTP_USER_AGENT", "")[:256] if request else ""),
        "request_id": getattr(request, "request_id", "") if request is not None else "",
        "detail": _clean_detail(detail),
    }
    chain_id = chain_module.chain_id_for(_chain_key(practice_id), practice_id)
    return chain_module.append(chain_id, content)


# --- Signed digests and alerts -------------------------------------------------


def digest_write(*, chain: AuditChain) -> AuditDigest | None:
    """Sign the chain's current head, after checking the events since the last
    digest (a signature must never launder a rewrite). Idempotent: one digest per
    (chain, seq); nothing new when the head has not moved."""
    from audit.verification import digest_signature, signature_broken, snapshot

    with snapshot():
        chain.refresh_from_db()
        if chain.last_seq == 0:
            return None
        last = AuditDigest.objects.filter(chain=chain).order_by("-seq").first()
        broken = signature_broken(chain, last) if last else None
        if broken is None:
            start = (last.seq, last.hash) if last else (0, chain_module.GENESIS_HASH)
            _count, broken = chain_module.verify_chain(chain, start=start)
    if broken is not None:
        alert_raise(chain=chain, broken=broken)
        return None
    # Outside the snapshot: a digest written meanwhile by another run is then
    # found by get_or_create instead of failing it.
    digest, _created = AuditDigest.objects.get_or_create(
        chain=chain,
        seq=chain.last_seq,
        defaults={
            "hash": chain.last_hash,
            "signature": digest_signature(chain.key, chain.last_seq, chain.last_hash),
        },
    )
    return digest


def alert_raise(*, chain: AuditChain, broken: "chain_module.BrokenLink"):
    """Raise the break in the compliance inbox, once per distinct break (a daily
    re-verification finding the same break neither raises nor mails it again)."""
    from compliance.models import Alert
    from compliance.services import alert_raise as compliance_alert_raise

    kind = (
        Alert.Kind.DIGEST_MISMATCH
        if broken.problem.startswith("digest")
        else Alert.Kind.CHAIN_BROKEN
    )
    fingerprint = hashlib.sha256(
        f"{kind}:{chain.pk}:{broken.event_id}:{broken.seq}:{broken.problem}".encode()
    ).hexdigest()
    return compliance_alert_raise(
        kind=kind,
        fingerprint=fingerprint,
        practice=chain.practice_id,
        detail={
            "chain": chain.key,
            "chain_id": chain.pk,
            "event_id": broken.event_id,
            "seq": broken.seq,
            "problem": broken.problem,
        },
    )
