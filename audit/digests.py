"""Signed chain heads: the nightly digests, the seal (every head signed and
exported off the database every few minutes), the daily export, and the check
of the whole trail. Audit reports what it finds as `Finding`s and raises no
alert: compliance raises them (compliance/audit_trail.py), so that audit stays
the ground floor and imports no domain app.
"""

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import chain as chain_module
from audit import verification
from audit.context import Actor
from audit.models import Action, AuditChain, AuditDigest
from audit.services import record_event


@dataclass(frozen=True)
class Finding:
    """A break found in the trail or in an export file. `chain` is None for a
    break of an export file itself or of a chain with no head (events under a
    chain id that no longer exists): `broken.chain_key` then names the file or
    the chain."""

    broken: chain_module.BrokenLink
    chain: AuditChain | None = None


def report_finding(report: verification.ChainReport) -> Finding:
    """The finding of a broken chain's report."""
    # None for events under a chain id with no head (orphans).
    chain = AuditChain.objects.filter(pk=report.chain_id).first()
    return Finding(report.broken, chain)


def export_finding(path: Path, broken: chain_module.BrokenLink) -> Finding:
    """A break found by checking an export file (a break of the file itself
    names the file, not a chain)."""
    chain = None
    if broken.chain_key != path.name:
        chain = AuditChain.objects.filter(key=broken.chain_key).first()
    return Finding(broken, chain)


@dataclass
class TrailCheck:
    chains: int = 0
    findings: list[Finding] = field(default_factory=list)
    export_findings: list[Finding] = field(default_factory=list)


def trail_check() -> TrailCheck:
    """Recompute every chain and check its signed digests, then the newest daily
    export against the trail (it is outside the database: a rewrite that also
    deleted the digest rows still shows), and that it is not stale."""
    reports = verification.verify_all()
    check = TrailCheck(chains=len(reports))
    check.findings = [report_finding(report) for report in reports if not report.ok]
    export = verification.latest_export()
    if export is not None:
        broken = verification.export_check(export).broken
        stale = verification.export_stale(export)
        if stale is not None:
            broken.append(stale)
        check.export_findings = [export_finding(export, link) for link in broken]
    return check


# --- Signed digests ---------------------------------------------------------------


def digest_write(*, chain: AuditChain) -> tuple[AuditDigest | None, Finding | None]:
    """Sign the chain's current head, after checking the events since the last
    digest (a signature must never launder a rewrite): (the digest, None), or
    (None, the break) when they do not verify, or (None, None) for an empty
    chain. Idempotent: one digest per (chain, seq); nothing new when the head
    has not moved."""
    with verification.snapshot():
        chain.refresh_from_db()
        if chain.last_seq == 0:
            return None, None
        _count, broken = verification.verify_since_anchor(chain)
    if broken is not None:
        return None, Finding(broken, chain)
    # Outside the snapshot: a digest written meanwhile by another run is then
    # found by get_or_create instead of failing it.
    digest, _created = AuditDigest.objects.get_or_create(
        chain=chain,
        kind=AuditDigest.Kind.DAILY,
        seq=chain.last_seq,
        defaults={
            "hash": chain.last_hash,
            "signature": verification.digest_signature(chain.key, chain.last_seq, chain.last_hash),
        },
    )
    return digest, None


# --- Signed chain heads exported off the database (the seal) -------------------


def heads_seal() -> tuple[Path, list[Finding]]:
    """Every AUDIT_SEAL_MINUTES (beat): check each chain from its head in the
    newest export to its current head, sign every head and write them to today's
    `audit-digests-YYYY-MM-DD.json` in AUDIT_DIGEST_EXPORT_DIR (0600, replaced
    atomically; the day's last version stays as the day's record). Outside the
    database, the file pins each chain's past: a rewrite or truncation of events
    up to a sealed head shows at the next seal (and in `audit_verify --against`),
    so only the events of the last few minutes are ever without a signature
    outside the database. A break is returned as a finding and the chain keeps
    its last sound seal. Events no head covers are findings too. Writes no audit
    event (one every few minutes would be noise; the daily export records one)."""
    findings: list[Finding] = []
    previous_path = verification.latest_export()
    previous: dict[str, dict] = {}
    if previous_path is not None:
        document, broken = verification.export_load(previous_path)
        if broken is not None:
            findings.append(export_finding(previous_path, broken))
        else:
            previous = {entry["chain"]: entry for entry in document["entries"]}
    entries = []
    for chain in AuditChain.objects.order_by("id"):
        entry, finding = _chain_seal(chain, previous.pop(chain.key, None))
        if finding is not None:
            findings.append(finding)
        if entry is not None:
            entries.append(entry)
    for key, entry in previous.items():
        # Sealed before, no head now: kept in the file, so that it shows again.
        gone = chain_module.BrokenLink(
            key, None, entry["seq"], "export_chain", str(entry["chain_id"]), "-"
        )
        findings.append(export_finding(previous_path, gone))
        entries.append(entry)
    findings.extend(_orphan_findings())
    entries.sort(key=lambda entry: entry["chain_id"])
    return _seal_write(entries), findings


def _seal_write(entries: list[dict]) -> Path:
    day = timezone.localdate()
    path = Path(settings.AUDIT_DIGEST_EXPORT_DIR) / f"audit-digests-{day.isoformat()}.json"
    document = {
        "format": verification.EXPORT_FORMAT,
        "day": day.isoformat(),
        "generated_at": _export_generated_at(path, entries),
        "entries": entries,
    }
    document["signature"] = verification.export_signature(document)
    content = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    _write_atomically(path, content.encode())
    return path


def _chain_seal(chain: AuditChain, entry: dict | None) -> tuple[dict | None, Finding | None]:
    """The chain's signed head once the events since its last seal are checked;
    its last seal (or nothing) and the break when they do not verify."""
    with verification.snapshot():
        chain.refresh_from_db()
        if chain.last_seq == 0:
            return entry, None
        _count, broken = verification.verify_since_anchor(chain, entry)
    if broken is not None:
        return entry, Finding(broken, chain)
    if entry is not None and (entry["seq"], entry["hash"]) == (chain.last_seq, chain.last_hash):
        return entry, None  # the head has not moved: the file stays the same
    return {
        "chain": chain.key,
        "chain_id": chain.pk,
        "seq": chain.last_seq,
        "hash": chain.last_hash,
        "signature": verification.digest_signature(chain.key, chain.last_seq, chain.last_hash),
        "created_at": chain_module.canonical_time(timezone.now()),
    }, None


def _orphan_findings() -> list[Finding]:
    return [
        Finding(verification.orphan_report(chain_id).broken)
        for chain_id in verification.orphan_chain_ids()
    ]


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
def digest_export() -> tuple[Path, list[Finding]]:
    """The daily export: seal the heads (heads_seal) and mail the day's file to
    AUDIT_DIGEST_EMAILS if set, then record the export. Failures raise (the daily
    task retries); the event is recorded only once the file is written and mailed.
    Returns the file and the seal's findings."""
    path, findings = heads_seal()
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
    return path, findings
