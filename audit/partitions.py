"""The monthly partitions of audit_auditevent (PostgreSQL only, migration 0007):
which exist, what a month holds per chain, and the two changes: months created
ahead (partitions_ensure) and a month dropped by retention (partition_drop)."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.context import Actor
from audit.models import Action, AuditChain, AuditDigest, AuditEvent
from audit.services import record_event
from audit.verification import digest_signature, verify_through_all

PARENT = "audit_auditevent"
DEFAULT = "audit_auditevent_default"
_MONTHLY = re.compile(r"^audit_auditevent_(\d{4})_(\d{2})$")


@dataclass(frozen=True)
class Partition:
    name: str
    month: date | None  # None: the default partition

    @property
    def lower(self) -> datetime | None:
        if self.month is None:
            return None
        return datetime(self.month.year, self.month.month, 1, tzinfo=UTC)

    @property
    def upper(self) -> datetime | None:
        if self.month is None:
            return None
        return datetime(*next_month(self.month).timetuple()[:3], tzinfo=UTC)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)", [PARENT]
        )
        return cursor.fetchone() is not None


def list_partitions() -> list[Partition]:
    """Monthly partitions, oldest first, then the default partition."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = to_regclass(%s)",
            [PARENT],
        )
        names = [name for (name,) in cursor.fetchall()]
    partitions = []
    for name in names:
        match = _MONTHLY.match(name)
        month = date(int(match[1]), int(match[2]), 1) if match else None
        partitions.append(Partition(name, month))
    return sorted(partitions, key=lambda p: (p.month is None, p.month or date.min))


def chain_ranges(partition: Partition) -> list[tuple[int, int, int, int]]:
    """(chain id, first seq, last seq, events) for each chain in a month partition.
    Read through the parent table (partition pruning keeps it to the month): the
    partitions themselves are the owner's, granted to no other role."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT chain_id, min(seq), max(seq), count(*) FROM {PARENT}"  # noqa: S608
            " WHERE occurred_at >= %s AND occurred_at < %s GROUP BY chain_id ORDER BY chain_id",
            [partition.lower, partition.upper],
        )
        return cursor.fetchall()


class PartitionDropRefused(Exception):
    """The month cannot be dropped as it is; the message says why (French)."""


def partitions_ensure(*, months_ahead: int = 3, today: date | None = None) -> int:
    """Create the month partitions from this month to `months_ahead` months ahead;
    return how many were created (0 when they exist, or off PostgreSQL)."""
    if not is_partitioned():
        return 0
    first = (today or timezone.now().date()).replace(day=1)
    last = first
    for _month in range(months_ahead):
        last = next_month(last)
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


def partition_drop(*, partition: Partition, actor: Actor | None = None) -> dict:
    """Drop one month of the trail (retention), oldest month first. Each chain in
    it is verified from its start to its last event in the month, and no further
    (proportional to the month, chains in parallel outside a transaction), before
    the partition is locked; then, under the lock and in one transaction, the
    month is checked unchanged, each chain's last event in it is signed as the
    checkpoint from which verification restarts, the partition is detached and
    dropped, and the drop recorded. The lock is never held while hashing."""
    if partition.month is None:
        raise PartitionDropRefused(_("La partition par défaut ne se supprime pas."))
    ranges = chain_ranges(partition)
    chains = AuditChain.objects.in_bulk([chain_id for chain_id, *_rest in ranges])
    for chain_id, _first, last, _count in ranges:
        _refuse_unless_oldest(chains[chain_id], partition, last)
    ends = {chains[chain_id]: last for chain_id, _first, last, _count in ranges}
    for report in verify_through_all(ends):
        if not report.ok:
            raise PartitionDropRefused(
                _("La chaîne %(chain)s est rompue : vérifiez-la avant toute suppression.")
                % {"chain": report.chain_key}
            )
    with transaction.atomic():
        return _drop_locked(partition, ranges, chains, actor)


def _drop_locked(partition: Partition, ranges: list, chains: dict, actor: Actor | None) -> dict:
    with connection.cursor() as cursor:
        # No event can enter the month from here on. The lock and the drop are
        # SECURITY DEFINER functions (migration 0012): the maintenance role may
        # call them, the application role may not.
        cursor.execute("SELECT audit_lock_partition(%s)", [partition.name])
    if chain_ranges(partition) != ranges:
        raise PartitionDropRefused(
            _("Des événements sont entrés dans ce mois pendant sa vérification : recommencez.")
        )
    for chain_id, _first, last, _count in ranges:
        chain = chains[chain_id]
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


def _refuse_unless_oldest(chain: AuditChain, partition: Partition, last: int):
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
