"""The one API every app calls to record an access or a change.

Call it inside the transaction of the change it describes; for reads, call it
before rendering, so that a failed write means the page is not served.
"""

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import chain as chain_module
from audit import partitions
from audit.context import Actor
from audit.models import Action, AuditChain, AuditDigest, AuditEvent, ObjectType, Outcome

_MAX_DETAIL_STRING = 80
_ALLOWED_DETAIL_TYPES = (int, bool, type(None))


# record_event's default practice: the actor's (None names the platform chain).
_ACTOR_PRACTICE = object()


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
        "detail": _clean_detail(detail),
    }
    return chain_module.append_to(practice_id, content)


# --- Signed digests and alerts -------------------------------------------------


def digest_write(*, chain: AuditChain) -> AuditDigest | None:
    """Sign the chain's current head, after checking the events since the last
    digest (a signature must never launder a rewrite). Idempotent: one digest per
    (chain, seq); nothing new when the head has not moved."""
    from audit.verification import digest_signature, snapshot, verify_since_anchor

    with snapshot():
        chain.refresh_from_db()
        if chain.last_seq == 0:
            return None
        _count, broken = verify_since_anchor(chain)
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


def export_alert_raise(*, path, broken: "chain_module.BrokenLink"):
    """Raise a break found by checking an export file (a break of the file
    itself names the file, not a chain)."""
    chain = None
    if broken.chain_key != path.name:
        chain = AuditChain.objects.filter(key=broken.chain_key).first()
    return alert_raise(chain=chain, broken=broken)


def alert_raise(*, chain: AuditChain | None, broken: "chain_module.BrokenLink"):
    """Raise the break in the compliance inbox, once per distinct break (a daily
    re-verification finding the same break neither raises nor mails it again).
    `chain` is None for a break of an export file itself or of a chain it names
    that no longer exists: `broken.chain_key` then names the file or the chain."""
    from compliance.models import Alert
    from compliance.services import alert_raise as compliance_alert_raise

    kind = (
        Alert.Kind.DIGEST_MISMATCH
        if broken.problem.startswith(("digest", "export"))
        else Alert.Kind.CHAIN_BROKEN
    )
    # The chain's id when there is one (the fingerprints of existing alerts stay
    # the same), else its key or the file's name.
    source = chain.pk if chain is not None else broken.chain_key
    fingerprint = hashlib.sha256(
        f"{kind}:{source}:{broken.event_id}:{broken.seq}:{broken.problem}".encode()
    ).hexdigest()
    return compliance_alert_raise(
        kind=kind,
        fingerprint=fingerprint,
        practice=chain.practice_id if chain is not None else None,
        detail={
            "chain": broken.chain_key,
            "chain_id": chain.pk if chain is not None else None,
            "event_id": broken.event_id,
            "seq": broken.seq,
            "problem": broken.problem,
        },
    )


# --- Signed chain heads exported off the database (the seal) -------------------


def heads_seal() -> Path:
    """Every AUDIT_SEAL_MINUTES (beat): check each chain from its head in the
    newest export to its current head, sign every head and write them to today's
    `audit-digests-YYYY-MM-DD.json` in AUDIT_DIGEST_EXPORT_DIR (0600, replaced
    atomically; the day's last version stays as the day's record). Outside the
    database, the file pins each chain's past: a rewrite or truncation of events
    up to a sealed head shows at the next seal (and in `audit_verify --against`),
    so only the events of the last few minutes are ever without a signature
    outside the database. A break is alerted and the chain keeps its last sound
    seal. Events no head covers are alerted too. Writes no audit event (one every
    few minutes would be noise; the daily export records one)."""
    from audit.verification import EXPORT_FORMAT, export_load, export_signature, latest_export

    previous_path = latest_export()
    previous: dict[str, dict] = {}
    if previous_path is not None:
        document, broken = export_load(previous_path)
        if broken is not None:
            export_alert_raise(path=previous_path, broken=broken)
        else:
            previous = {entry["chain"]: entry for entry in document["entries"]}
    entries = []
    for chain in AuditChain.objects.order_by("id"):
        entry = _chain_seal(chain, previous.pop(chain.key, None))
        if entry is not None:
            entries.append(entry)
    for key, entry in previous.items():
        # Sealed before, no head now: kept in the file, so that it shows again.
        gone = chain_module.BrokenLink(
            key, None, entry["seq"], "export_chain", str(entry["chain_id"]), "-"
        )
        export_alert_raise(path=previous_path, broken=gone)
        entries.append(entry)
    _orphans_alert()
    entries.sort(key=lambda entry: entry["chain_id"])
    day = timezone.localdate()
    path = Path(settings.AUDIT_DIGEST_EXPORT_DIR) / f"audit-digests-{day.isoformat()}.json"
    document = {
        "format": EXPORT_FORMAT,
        "day": day.isoformat(),
        "generated_at": _export_generated_at(path, entries),
        "entries": entries,
    }
    document["signature"] = export_signature(document)
    content = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    _write_atomically(path, content.encode())
    return path


def _chain_seal(chain: AuditChain, entry: dict | None) -> dict | None:
    """The chain's signed head once the events since its last seal are checked;
    its last seal (or nothing) when they break."""
    from audit.verification import digest_signature, snapshot, verify_since_anchor

    with snapshot():
        chain.refresh_from_db()
        if chain.last_seq == 0:
            return entry
        _count, broken = verify_since_anchor(chain, entry)
    if broken is not None:
        alert_raise(chain=chain, broken=broken)
        return entry
    if entry is not None and (entry["seq"], entry["hash"]) == (chain.last_seq, chain.last_hash):
        return entry  # the head has not moved: the file stays the same
    return {
        "chain": chain.key,
        "chain_id": chain.pk,
        "seq": chain.last_seq,
        "hash": chain.last_hash,
        "signature": digest_signature(chain.key, chain.last_seq, chain.last_hash),
        "created_at": chain_module.canonical_time(timezone.now()),
    }


def _orphans_alert() -> None:
    from audit.verification import orphan_chain_ids, orphan_report

    for chain_id in orphan_chain_ids():
        alert_raise(chain=None, broken=orphan_report(chain_id).broken)


def _export_generated_at(path: Path, entries: list[dict]) -> str:
    """Now, unless the day's file already holds these very entries: a rerun then
    rewrites the same bytes (the export is idempotent)."""
    try:
        previous = json.loads(path.read_bytes())
        if previous["entries"] == entries and isinstance(previous["generated_at"], str):
            return previous["generated_at"]
    except (OSError, ValueError, TypeError, KeyError):
        pass  # no file yet, or not one of ours: it is replaced
    return chain_module.canonical_time(timezone.now())


def _write_atomically(path: Path, content: bytes) -> None:
    """Temp file in the same directory, fsync, rename: a reader (or a copy to
    the remote store) sees the old file or the new one, never half of one."""
    directory = path.parent
    if not directory.is_dir():
        directory.mkdir(parents=True, mode=0o700)
        directory.chmod(0o700)  # mkdir's mode is reduced by the umask
    descriptor, temp_name = tempfile.mkstemp(prefix=".audit-digests-", dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as out:  # mkstemp creates it 0600
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    directory_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_fd)  # the rename itself survives a crash
    finally:
        os.close(directory_fd)


def _export_mail(path: Path, day: date, chains: int) -> None:
    subject = _("[Secretariat] Empreintes signées du journal d'audit du %(day)s") % {
        "day": day.isoformat()
    }
    body = "\n".join(
        [
            _(
                "Ci-joint l'export quotidien des empreintes signées des chaînes du journal "
                "d'audit (%(chains)s chaîne(s))."
            )
            % {"chains": chains},
            "",
            _(
                "Il ne contient que des empreintes (aucune donnée de santé). Conservez-le "
                "hors de la base de données : « manage.py audit_verify --against <fichier> » "
                "détecte ainsi une réécriture du journal."
            ),
        ]
    )
    message = EmailMessage(subject, body, to=settings.AUDIT_DIGEST_EMAILS)
    message.attach_file(path, "application/json")
    message.send()


@transaction.atomic
def digest_export() -> Path:
    """The daily export: seal the heads (heads_seal) and mail the day's file to
    AUDIT_DIGEST_EMAILS if set, then record the export. Failures raise (the daily
    task retries); the event is recorded only once the file is written and mailed."""
    path = heads_seal()
    day = timezone.localdate()
    chains = len(json.loads(path.read_bytes())["entries"])
    if settings.AUDIT_DIGEST_EMAILS:
        _export_mail(path, day, chains)
    record_event(
        actor=Actor.system("audit_digest_export"),
        action=Action.EXPORT,
        object_type="audit_digest_export",
        object_id=day.isoformat(),
        detail={
            "day": day.isoformat(),
            "chains": chains,
            "mailed": len(settings.AUDIT_DIGEST_EMAILS),
        },
    )
    return path


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
                actor=Actor.system("audit_partitions"),
                action=Action.CREATE,
                object_type="audit_partition",
                object_id=f"{first:%Y-%m}..{last:%Y-%m}",
                detail={"created": created},
            )
    return created


@transaction.atomic
def partition_drop(*, partition: "partitions.Partition", actor: Actor | None = None) -> dict:
    """Drop one month of the trail (retention), oldest month first. Each chain in
    it is verified, then its last event in the month is signed as a checkpoint
    from which verification restarts; then the partition is detached and
    dropped, and the drop recorded. All in one transaction."""
    from audit.verification import digest_signature, verify_one

    if partition.month is None:
        raise PartitionDropRefused(_("La partition par défaut ne se supprime pas."))
    with connection.cursor() as cursor:
        # No event can enter the month while its checkpoints are computed. The
        # lock and the drop are SECURITY DEFINER functions (migration 0012): the
        # maintenance role may call them, the application role may not.
        cursor.execute("SELECT audit_lock_partition(%s)", [partition.name])
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
        cursor.execute("SELECT audit_drop_partition(%s)", [partition.name])
    summary = {"events": sum(row[3] for row in ranges), "chains": len(ranges)}
    record_event(
        action=Action.PURGE,
        actor=actor or Actor.system("audit_drop_partitions"),
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
