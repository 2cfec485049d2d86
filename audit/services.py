"""The one API every app calls to record an access or a change.

Call it inside the transaction of the change it describes; for reads, call it
before rendering, so that a failed write means the page is not served.
"""

import hashlib
from collections.abc import Mapping
from datetime import date

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import chain as chain_module
from audit import partitions
from audit.models import Action, AuditChain, AuditDigest, AuditEvent, Outcome
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
    from audit.verification import chain_start, digest_signature, signature_broken, snapshot

    with snapshot():
        chain.refresh_from_db()
        if chain.last_seq == 0:
            return None
        start, broken = chain_start(chain)
        last = (
            AuditDigest.objects.filter(chain=chain, kind=AuditDigest.Kind.DAILY)
            .order_by("-seq")
            .first()
        )
        if broken is None and last is not None and last.seq > start[0]:
            broken = signature_broken(chain, last)
            start = (last.seq, last.hash)
        if broken is None:
            _count, broken = chain_module.verify_chain(chain, start=start)
    if broken is not None:
        alert_raise(chain=chain, broken=broken)
        return None
    # Outside the snapshot: a digest written meanwhile by another run is then
    # found by get_or_create instead of failing it.
    digest, _created = AuditDigest.objects.get_or_create(
        chain=chain,
        kind=AuditDigest.Kind.DAILY,
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


# --- Monthly partitions (PostgreSQL) ---------------------------------------------


class PartitionDropRefused(Exception):
    """The month cannot be dropped as it is; the message says why (French)."""


def partitions_ensure(*, months_ahead: int = 3, today: date | None = None) -> int:
    """Create the month partitions from this month to `months_ahead` months ahead;
    return how many were created (0 when they exist, or off PostgreSQL)."""
    if not partitions.is_partitioned():
        return 0
    first = (today or timezone.now().date()).replace(day=1)
    last = first
    for _month in range(months_ahead):
        last = partitions.next_month(last)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT audit_ensure_partitions(%s, %s)", [first, last])
            created = cursor.fetchone()[0]
        if created:
            record_event(
                action=Action.CREATE,
                object_type="audit_partition",
                object_id=f"{first:%Y-%m}..{last:%Y-%m}",
                detail={"created": created},
            )
    return created


@transaction.atomic
def partition_drop(*, partition: "partitions.Partition", actor=None) -> dict:
    """Drop one month of the trail (retention), oldest month first. Each chain in
    it is verified, then its last event in the month is signed as a checkpoint
    from which verification restarts; then the partition is detached and
    dropped, and the drop recorded. All in one transaction."""
    from audit.verification import digest_signature, verify_one

    if partition.month is None:
        raise PartitionDropRefused(_("La partition par défaut ne se supprime pas."))
    table = connection.ops.quote_name(partition.name)
    with connection.cursor() as cursor:
        # No event can enter the month while its checkpoints are computed.
        cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
    ranges = partitions.chain_ranges(partition)
    chains = AuditChain.objects.in_bulk([chain_id for chain_id, *_rest in ranges])
    for chain_id, _first, last, _count in ranges:
        chain = chains[chain_id]
        _refuse_unless_oldest(chain, partition, last)
        report = verify_one(chain)
        if not report.ok:
            raise PartitionDropRefused(
                _("La chaîne %(chain)s est rompue : vérifiez-la avant toute suppression.")
                % {"chain": chain.key}
            )
        event_hash = AuditEvent.objects.values_list("hash", flat=True).get(chain=chain, seq=last)
        kind = AuditDigest.Kind.CHECKPOINT
        AuditDigest.objects.get_or_create(
            chain=chain,
            kind=kind,
            seq=last,
            defaults={
                "hash": event_hash,
                "signature": digest_signature(chain.key, last, event_hash, kind),
            },
        )
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {partitions.PARENT} DETACH PARTITION {table}")
        cursor.execute(f"DROP TABLE {table}")
    summary = {"events": sum(row[3] for row in ranges), "chains": len(ranges)}
    record_event(
        action=Action.PURGE,
        actor=actor,
        object_type="audit_partition",
        object_id=partition.name,
        detail=summary,
    )
    return summary


def _refuse_unless_oldest(chain: AuditChain, partition: "partitions.Partition", last: int):
    """Every event of the chain left after the drop must come after the month's
    last one, so that the chain restarts cleanly at the checkpoint."""
    earlier = (
        AuditEvent.objects.filter(chain=chain, seq__lt=last)
        .exclude(occurred_at__gte=partition.lower, occurred_at__lt=partition.upper)
        .exists()
    )
    if earlier:
        raise PartitionDropRefused(
            _(
                "Des événements plus anciens de la chaîne %(chain)s restent : supprimez d'abord "
                "les mois antérieurs."
            )
            % {"chain": chain.key}
        )
