"""Key operations: DEK rotation (re-encrypt rows in bounded batches), KEK
re-wrap, and crypto-shredding. Each writes a key_operation audit event.

Rotation is idempotent and resumable. A practice is "rotating" while a live
key version older than the current one exists: running again resumes (moves
the rows still on an old version, then retires the old key) instead of starting
another rotation. An old version is retired (its wrapped key emptied) only when
no row uses it any more and the new version is older than the grace period, so
that a process still holding the previous key in its cache
(keys.KEY_CACHE_SECONDS) cannot write a row that would become unreadable.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Practice
from accounts.scoping import practice_scope
from audit.context import Actor
from audit.models import Action, AuditEvent, ObjectType, Outcome
from audit.services import record_event
from patients import keys
from patients.models import PracticeKey
from patients.sealed import rows_on_versions, rows_per_model, sealed_columns, sealed_models
from secretariat import crypto

BATCH_SIZE = 500
KEY_ROTATION = Actor.system("key_rotation")
RETIRE_GRACE = timedelta(seconds=2 * keys.KEY_CACHE_SECONDS)


@dataclass
class RotationReport:
    practice_id: int
    to_version: int
    started: bool
    rows: int = 0
    batches: int = 0
    retired: list[int] = field(default_factory=list)
    pending_retirement: list[int] = field(default_factory=list)
    # {model label: rows} still on a version rotation was about to destroy.
    refused: dict[str, int] = field(default_factory=dict)


class KeyVersionInUse(Exception):
    """A key version was about to be destroyed while rows still use it: the
    refusal names the models and counts (never any data)."""

    def __init__(self, practice_id: int, versions: list[int], rows: dict[str, int]) -> None:
        self.practice_id, self.versions, self.rows = practice_id, versions, rows
        listed = ", ".join(f"{label}: {count}" for label, count in sorted(rows.items()))
        super().__init__(
            f"practice {practice_id}: key versions {versions} still seal rows ({listed})"
        )


def _live_versions(practice_id: int) -> list[PracticeKey]:
    with practice_scope(practice_id):
        return list(
            PracticeKey.objects.filter(practice_id=practice_id, destroyed_at=None).order_by(
                "version"
            )
        )


def rotation_batch(practice_id: int, batch_size: int = BATCH_SIZE) -> int:
    """Re-encrypt up to batch_size rows of each sealed model that are not on the
    current version, in one transaction. Returns the number of rows moved."""
    moved = 0
    with transaction.atomic(), practice_scope(practice_id):
        practice_keys = keys.practice_keys(practice_id)
        current = practice_keys.current_version
        for model in sealed_models():
            rows = list(
                model.objects.select_for_update(of=("self",))
                .filter(practice_id=practice_id)
                .exclude(key_version=current)
                .order_by("pk")[:batch_size]
            )
            for row in rows:
                row.reseal(practice_keys)
            columns = [*sealed_columns(model), "key_version"]
            model.objects.bulk_update(rows, columns)
            keys.count_encryptions(practice_id, current, len(rows) * len(model.SEALED))
            moved += len(rows)
    return moved


def rotate_practice_key(
    *,
    practice: Practice,
    batch_size: int = BATCH_SIZE,
    retire_grace: timedelta = RETIRE_GRACE,
    actor: Actor | None = None,
) -> RotationReport:
    live = _live_versions(practice.pk)
    started = len(live) <= 1
    if started:
        keys.practice_keys(practice.pk)  # creates the first key if there is none
        new = keys.practice_key_create(practice_id=practice.pk)
        live = _live_versions(practice.pk)
    else:
        new = live[-1]
    keys.forget(practice.pk)
    report = RotationReport(practice_id=practice.pk, to_version=new.version, started=started)
    while True:
        moved = rotation_batch(practice.pk, batch_size)
        if not moved:
            break
        report.rows += moved
        report.batches += 1
    old_versions = [key.version for key in live if key.version != new.version]
    ripe = timezone.now() - new.created_at >= retire_grace
    report.pending_retirement = old_versions
    if old_versions and ripe:
        try:
            retire_key_versions(practice_id=practice.pk, versions=old_versions)
        except KeyVersionInUse as refusal:
            report.refused = refusal.rows
        else:
            report.retired, report.pending_retirement = old_versions, []
    record_event(
        action=Action.KEY_OPERATION,
        actor=actor or KEY_ROTATION,
        practice=practice,
        object_type="practice_key",
        object_id=new.version,
        detail={
            "operation": "rotate",
            "started": started,
            "rows": report.rows,
            "batches": report.batches,
            "retired_versions": report.retired,
            "pending_versions": report.pending_retirement,
            "refused_models": sorted(report.refused),
            "refused_rows": sum(report.refused.values()),
        },
    )
    return report


@transaction.atomic
def retire_key_versions(*, practice_id: int, versions: list[int]) -> None:
    """Destroy old key versions, after proving that no row of any sealed model
    (patients.sealed.sealed_models()) still uses one: KeyVersionInUse otherwise,
    and nothing is destroyed. The key rows are locked first, so that two runs
    do not prove and destroy at once."""
    with practice_scope(practice_id):
        list(
            PracticeKey.objects.select_for_update().filter(
                practice_id=practice_id, version__in=versions
            )
        )
        still_used = rows_on_versions(practice_id, versions)
        if still_used:
            raise KeyVersionInUse(practice_id, versions, still_used)
        PracticeKey.objects.filter(practice_id=practice_id, version__in=versions).update(
            wrapped_dek=b"", wrapped_index_key=b"", destroyed_at=timezone.now()
        )
    transaction.on_commit(lambda: keys.forget(practice_id))
    keys.forget(practice_id)


def rewrap_all(*, actor: Actor | None = None) -> dict[int, int]:
    """Re-seal every live wrapped key under the keyring's current KEK version.
    Returns {practice id: keys re-wrapped}; idempotent."""
    done: dict[int, int] = {}
    # Practice by practice, each under its own scope (row security shows a job
    # no other practice's keys); a practice without a live key has none to re-wrap.
    for practice_id in Practice.objects.order_by("pk").values_list("pk", flat=True):
        with practice_scope(practice_id):
            rows = list(
                PracticeKey.objects.select_for_update().filter(
                    practice_id=practice_id, destroyed_at=None
                )
            )
            if not rows:
                continue
            changed = [row for row in rows if keys.rewrap(row)]
            PracticeKey.objects.bulk_update(changed, ["wrapped_dek", "wrapped_index_key"])

            record_event(
                action=Action.KEY_OPERATION,
                actor=actor or KEY_ROTATION,
                practice=practice_id,
                object_type="practice_key",
                detail={
                    "operation": "rewrap",
                    "kek_version": crypto.keyring().current,
                    "keys": len(changed),
                },
            )
        keys.forget(practice_id)
        done[practice_id] = len(changed)
    return done


class ShredRefused(Exception):
    """The practice's keys were not destroyed: no hand-over export is recorded.
    The message is in French, for the operator."""


def _handover_events(practice: Practice, purpose: str):
    events = AuditEvent.objects.filter(
        practice_id=practice.pk,
        action=Action.EXPORT,
        object_type=ObjectType.PRACTICE,
        object_id=str(practice.pk),
        outcome=Outcome.ALLOWED,
        detail__purpose=purpose,
    )
    if practice.closed_at is not None:
        events = events.filter(occurred_at__gte=practice.closed_at)
    return events.order_by("-occurred_at", "-id")


@dataclass(frozen=True)
class Handover:
    """The practice's latest hand-over export since its closure (ever, for a
    practice not closed) and the check that proved that same file round-trips
    against the database (check_practice_export --practice), if any."""

    export: AuditEvent | None
    check: AuditEvent | None

    @property
    def verified(self) -> bool:
        return self.check is not None


def handover_status(practice: Practice) -> Handover:
    exports = list(_handover_events(practice, "offboarding")[:20])
    checks = list(_handover_events(practice, "offboarding_check")[:20])
    for export in exports:
        for check in checks:
            same_file = check.detail.get("sha256") == export.detail.get("sha256")
            if same_file and check.occurred_at >= export.occurred_at:
                return Handover(export, check)
    return Handover(exports[0] if exports else None, None)


def shred_practice_key(
    *, practice: Practice, actor: Actor | None = None, without_handover: bool = False
) -> list[int]:
    """Crypto-shredding: destroy every version of the practice's keys. Its
    sealed data can never be read again; pages say "données indisponibles".
    Refused (ShredRefused, the refusal audited) while no hand-over export of
    the practice, checked against the database, is recorded since its closure,
    unless the operator overrides it explicitly (without_handover, audited
    with the shredding)."""
    handover = handover_status(practice)
    if handover.verified:
        return _shred(
            practice=practice,
            actor=actor,
            handover={"handover_event": handover.export.pk, "handover_check": handover.check.pk},
        )
    if without_handover:
        return _shred(practice=practice, actor=actor, handover={"without_handover": True})
    missing = "handover_missing" if handover.export is None else "handover_unchecked"
    record_event(
        action=Action.KEY_OPERATION,
        actor=actor or KEY_ROTATION,
        practice=practice,
        object_type="practice_key",
        outcome=Outcome.DENIED,
        detail={"operation": "shred", missing: True},
    )
    raise ShredRefused(
        f"Clés du cabinet « {practice.slug} » conservées : aucune restitution vérifiée "
        "depuis sa fermeture (export_practice, puis check_practice_export --practice sur le "
        "même fichier). Exportez et vérifiez la restitution, ou forcez la destruction avec "
        "--without-handover."
    )


@transaction.atomic
def _shred(*, practice: Practice, actor: Actor | None, handover: dict) -> list[int]:
    with practice_scope(practice):
        versions = list(
            PracticeKey.objects.select_for_update()
            .filter(practice=practice, destroyed_at=None)
            .values_list("version", flat=True)
        )
        # What becomes unreadable, model by model (the registry lists them all).
        sealed = {label: rows for label, rows in rows_per_model(practice.pk).items() if rows}
        PracticeKey.objects.filter(practice=practice).update(
            wrapped_dek=b"", wrapped_index_key=b"", destroyed_at=timezone.now()
        )
        if not versions and not PracticeKey.objects.filter(practice=practice).exists():
            # No key yet: record a destroyed one so that none is created later.
            PracticeKey.objects.create(
                practice=practice,
                version=1,
                wrapped_dek=b"",
                wrapped_index_key=b"",
                destroyed_at=timezone.now(),
            )
    record_event(
        action=Action.KEY_OPERATION,
        actor=actor or KEY_ROTATION,
        practice=practice,
        object_type="practice_key",
        detail={
            "operation": "shred",
            "versions": versions,
            "sealed_models": sorted(sealed),
            "sealed_rows": sum(sealed.values()),
            **handover,
        },
    )
    transaction.on_commit(lambda: keys.forget(practice.pk))
    keys.forget(practice.pk)
    return versions
