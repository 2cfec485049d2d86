"""The monthly partitions of audit_auditevent (PostgreSQL only, migration 0007):
which exist, and what a month holds per chain. Read-only; the changes are
audit.services.partitions_ensure and partition_drop."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db import connection

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
