"""Audit upkeep: the month partitions, kept ahead daily. Thin and idempotent
(a rerun creates nothing twice). The verification, digest and seal tasks, which
alert, are compliance's (compliance/tasks.py)."""

from celery import shared_task

from audit import partitions


@shared_task
def ensure_audit_partitions() -> dict:
    """Keep the audit table's month partitions three months ahead (PostgreSQL)."""
    return {"created": partitions.partitions_ensure(months_ahead=3)}
