"""Audit jobs: thin, idempotent, no arguments (they cover every chain). The seal
runs every AUDIT_SEAL_MINUTES, the others daily.

Like every task (secretariat.celery.Task), they are acknowledged late (a worker
lost mid-run means the task runs again) and retried; all are safe to repeat:
digests are unique per (chain, seq), alerts per fingerprint, and
the day's export file is rewritten whole.
"""

from celery import shared_task

from audit import services, verification
from audit.models import AuditChain


@shared_task
def verify_audit_chains() -> dict:
    """Recompute every chain and check its signed digests, then the newest daily
    export against the trail (it is outside the database: a rewrite that also
    deleted the digest rows still shows); alert on a break."""
    reports = verification.verify_all()
    broken = 0
    for report in reports:
        if not report.ok:
            broken += 1
            # None for events under a chain id with no head (orphans).
            chain = AuditChain.objects.filter(pk=report.chain_id).first()
            services.alert_raise(chain=chain, broken=report.broken)
    export = verification.latest_export()
    export_broken = []
    if export is not None:
        export_broken = verification.export_check(export).broken
        stale = verification.export_stale(export)
        if stale is not None:
            export_broken.append(stale)
        for link in export_broken:
            services.export_alert_raise(path=export, broken=link)
    # Counts only: the result may be stored by a result backend.
    return {"chains": len(reports), "broken": broken, "export_broken": len(export_broken)}


@shared_task
def write_audit_digests() -> dict:
    """Sign every chain's head (after checking the events since its last digest),
    then export the signed heads off the database. A failed export raises: the
    task is retried (OSError) or fails, and its failure raises an alert."""
    written = 0
    for chain in AuditChain.objects.order_by("id"):
        if services.digest_write(chain=chain) is not None:
            written += 1
    services.digest_export()
    return {"digests": written}


@shared_task
def seal_audit_chains() -> dict:
    """Check every chain since its last sealed head, sign the heads and export
    them off the database: a rewrite of anything older than a few minutes then
    shows (audit.services.heads_seal)."""
    path = services.heads_seal()
    return {"file": path.name}


@shared_task
def ensure_audit_partitions() -> dict:
    """Keep the audit table's month partitions three months ahead (PostgreSQL)."""
    return {"created": services.partitions_ensure(months_ahead=3)}
