"""Alerts from the audit trail's checks. Audit reports what it finds
(audit.digests.Finding); compliance raises the alert, once per distinct break
(a daily re-verification finding the same break neither raises nor mails it
again). The three jobs that check the trail run from compliance/tasks.py."""

import hashlib
from collections.abc import Iterable
from pathlib import Path

from audit import digests
from audit.models import AuditChain
from compliance.models import Alert
from compliance.services import alert_raise


def alert_finding(finding: digests.Finding) -> Alert:
    """Raise one break in the compliance inbox."""
    broken, chain = finding.broken, finding.chain
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
    return alert_raise(
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


def alert_findings(findings: Iterable[digests.Finding]) -> int:
    """Raise each finding; return how many there were."""
    count = 0
    for finding in findings:
        alert_finding(finding)
        count += 1
    return count


def chains_verify() -> dict:
    """Every chain and the newest export checked (audit.digests.trail_check),
    each break alerted. Counts only (a result backend may store them)."""
    check = digests.trail_check()
    return {
        "chains": check.chains,
        "broken": alert_findings(check.findings),
        "export_broken": alert_findings(check.export_findings),
    }


def digests_write() -> dict:
    """Sign every chain's head (after checking the events since its last
    digest), then export the signed heads off the database; breaks alerted. A
    failed export raises (the task retries, or fails and its failure alerts)."""
    written = 0
    for chain in AuditChain.objects.order_by("id"):
        digest, finding = digests.digest_write(chain=chain)
        if finding is not None:
            alert_finding(finding)
        if digest is not None:
            written += 1
    _path, findings = digests.digest_export()
    alert_findings(findings)
    return {"digests": written}


def heads_seal() -> Path:
    """Seal the heads (audit.digests.heads_seal) and alert its breaks."""
    path, findings = digests.heads_seal()
    alert_findings(findings)
    return path
