"""Whole-trail verification: every chain recomputed from its genesis (or from the
signed checkpoint left when retention dropped its oldest months), and its signed
digests checked against it; and the daily exports of those digests (files outside
the database, see audit.services.digest_export) checked against the trail.

A digest is HMAC-SHA256(AUDIT_SIGNING_KEY, "<chain key>:<seq>:<hash>"), a
checkpoint the same over "checkpoint:<chain key>:<seq>:<hash>". The key
lives outside the database, so someone able to rewrite the table (triggers off)
and reset the chain head cannot forge the digest of the head they replaced: the
rewrite or truncation of the newest events shows as a digest that no longer
matches its event.
"""

import hashlib
import hmac
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min

from audit.chain import BrokenLink, chain_key, verify_chain
from audit.models import GENESIS_HASH, AuditChain, AuditDigest, AuditEvent


def digest_signature(
    chain_key: str, seq: int, event_hash: str, kind: str = AuditDigest.Kind.DAILY
) -> str:
    message = f"{chain_key}:{seq}:{event_hash}"
    if kind != AuditDigest.Kind.DAILY:
        message = f"{kind}:{message}"
    message = message.encode()
    key = settings.AUDIT_SIGNING_KEY.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


EXPORT_FORMAT = 1
# Prefix of the signed message: an export's signature can never be mistaken for a
# digest's ("<chain key>:<seq>:<hash>"), both being made with the same key.
_EXPORT_DOMAIN = b"audit-digest-export:"
_ENTRY_FIELDS = {"chain": str, "chain_id": int, "seq": int, "hash": str, "signature": str}


def export_canonical(document: dict) -> bytes:
    """What an export's signature covers: everything in the file but the signature
    (format, day, generated_at and every entry), as canonical JSON."""
    signed = {key: value for key, value in document.items() if key != "signature"}
    return json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def export_signature(document: dict) -> str:
    key = settings.AUDIT_SIGNING_KEY.encode()
    message = _EXPORT_DOMAIN + export_canonical(document)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    chain_id: int
    chain_key: str
    count: int
    digests_checked: int
    broken: BrokenLink | None

    @property
    def ok(self) -> bool:
        return self.broken is None


@contextmanager
def snapshot() -> Iterator[None]:
    """One consistent view of a chain head and its events (PostgreSQL REPEATABLE
    READ): events committed meanwhile are left for the next run, and an event
    beyond the head in the snapshot is tampering, not a race. Inside an existing
    transaction (tests, callers) that transaction's view is used."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        with transaction.atomic():
            yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def signature_broken(chain: AuditChain, digest: AuditDigest) -> BrokenLink | None:
    expected = digest_signature(chain.key, digest.seq, digest.hash, digest.kind)
    if hmac.compare_digest(expected, digest.signature):
        return None
    # Never the valid signature itself: printed or stored in an alert, it would
    # hand a forger the digest they could not compute.
    return BrokenLink(
        chain.key, None, digest.seq, "digest_signature", "HMAC(AUDIT_SIGNING_KEY)", digest.signature
    )


def chain_start(chain: AuditChain) -> tuple[tuple[int, str], BrokenLink | None]:
    """Where the chain's verification begins: its genesis while its first event is
    there, else the signed checkpoint written when retention dropped the events
    before it. Events missing from the start with no checkpoint are a break."""
    first = AuditEvent.objects.filter(chain=chain).aggregate(first=Min("seq"))["first"]
    if first is None:
        first = chain.last_seq + 1
    if first <= 1:
        return (0, GENESIS_HASH), None
    checkpoint = AuditDigest.objects.filter(
        chain=chain, kind=AuditDigest.Kind.CHECKPOINT, seq=first - 1
    ).first()
    if checkpoint is None:
        missing = BrokenLink(chain.key, None, first, "missing_events", "1", str(first))
        return (0, GENESIS_HASH), missing
    return (checkpoint.seq, checkpoint.hash), signature_broken(chain, checkpoint)


def check_digests(chain: AuditChain, start_seq: int = 0) -> tuple[int, BrokenLink | None]:
    """Each digest must carry a valid signature and, unless its event was dropped
    by retention (at or below the start), name an event that still exists with
    the signed hash, at or below the current head."""
    digests = list(AuditDigest.objects.filter(chain=chain).order_by("-seq"))
    events = {
        seq: (event_id, event_hash)
        for seq, event_id, event_hash in AuditEvent.objects.filter(
            chain=chain, seq__in=[d.seq for d in digests if d.seq > start_seq]
        ).values_list("seq", "id", "hash")
    }
    for digest in digests:
        broken = signature_broken(chain, digest)
        if broken:
            return 0, broken
        if digest.seq <= start_seq:
            continue
        if digest.seq > chain.last_seq:
            return 0, BrokenLink(
                chain.key,
                None,
                digest.seq,
                "digest_beyond_head",
                str(digest.seq),
                str(chain.last_seq),
            )
        event_id, found = events.get(digest.seq, (None, ""))
        if found != digest.hash:
            return 0, BrokenLink(chain.key, event_id, digest.seq, "digest_hash", digest.hash, found)
    return len(digests), None


def verify_one(chain: AuditChain) -> ChainReport:
    with snapshot():
        chain.refresh_from_db()
        start, broken = chain_start(chain)
        count, checked = 0, 0
        if broken is None:
            count, broken = verify_chain(chain, start=start)
        if broken is None:
            checked, broken = check_digests(chain, start[0])
    return ChainReport(chain.pk, chain.key, count, checked, broken)


def verify_all(practice_id: int | None = None) -> list[ChainReport]:
    """Every chain (or one practice's), in chain id order. On PostgreSQL outside a
    transaction, AUDIT_VERIFY_WORKERS threads verify chains at once: the work is
    in the server (one statement per chain) and psycopg releases the GIL while it
    waits. Inside a transaction (tests, callers) other connections would not see
    its uncommitted rows, so chains are verified one by one in it."""
    chains = AuditChain.objects.order_by("id")
    if practice_id is not None:
        chains = chains.filter(practice_id=practice_id)
    chains = list(chains)
    workers = min(settings.AUDIT_VERIFY_WORKERS, len(chains))
    if workers <= 1 or connection.vendor != "postgresql" or connection.in_atomic_block:
        return [verify_one(chain) for chain in chains]
    return _verify_concurrently(chains, workers)


def _verify_concurrently(chains: list[AuditChain], workers: int) -> list[ChainReport]:
    # map keeps the chains' order and re-raises a worker's exception here.
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="audit-verify") as pool:
        return list(pool.map(_verify_in_thread, chains))


def _verify_in_thread(chain: AuditChain) -> ChainReport:
    # Django connections are per thread: each chain gets its own connection (and
    # snapshot), closed once verified, so none is left behind in the pool. The
    # few ms of a new connection are nothing beside a chain's verification.
    try:
        return verify_one(chain)
    finally:
        connection.close()


@dataclass(frozen=True)
class ExportReport:
    """One export file checked against the trail. A break that concerns the file
    itself (signature, format) carries the file's name as its chain key."""

    path: Path
    entries_checked: int
    broken: list[BrokenLink] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.broken


def latest_export() -> Path | None:
    """The newest daily export in AUDIT_DIGEST_EXPORT_DIR (names sort by day)."""
    directory = Path(settings.AUDIT_DIGEST_EXPORT_DIR)
    if not directory.is_dir():
        return None
    return max(directory.glob("audit-digests-*.json"), default=None)


def export_check(path: Path, practice_id: int | None = None) -> ExportReport:
    """Check a daily export against the database: the file's signature, then for
    each entry (only the practice's chain when given) its digest signature, its
    chain, a head at or beyond it, and its event still there with that hash. The
    file was written outside the database, so deleting the digest rows along with
    a rewrite of the chain does not hide the rewrite from it."""
    document, broken = _export_load(path)
    if broken is not None:
        return ExportReport(path, 0, [broken])
    entries = document["entries"]
    if practice_id is not None:
        entries = [entry for entry in entries if entry["chain"] == chain_key(practice_id)]
    found = [link for link in map(_export_entry_broken, entries) if link is not None]
    return ExportReport(path, len(entries), found)


def _export_load(path: Path) -> tuple[dict, BrokenLink | None]:
    def broken(problem: str, expected: str, found: str) -> BrokenLink:
        return BrokenLink(path.name, None, 0, problem, expected, found)

    try:
        document = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}, broken("export_format", "JSON", "illisible")
    if not _export_well_formed(document):
        return {}, broken("export_format", f"format {EXPORT_FORMAT}", "structure inattendue")
    expected = export_signature(document)
    if not hmac.compare_digest(expected, document["signature"]):
        # The valid HMAC of a tampered file is not printed: it would forge it.
        return {}, broken("export_signature", "HMAC(AUDIT_SIGNING_KEY)", document["signature"])
    return document, None


def _export_well_formed(document) -> bool:
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        return False
    if not isinstance(document.get("signature"), str):
        return False
    entries = document.get("entries")
    return isinstance(entries, list) and all(
        isinstance(entry, dict)
        and all(isinstance(entry.get(name), kind) for name, kind in _ENTRY_FIELDS.items())
        for entry in entries
    )


def _export_entry_broken(entry: dict) -> BrokenLink | None:
    key, seq, signed_hash = entry["chain"], entry["seq"], entry["hash"]
    expected = digest_signature(key, seq, signed_hash)
    if not hmac.compare_digest(expected, entry["signature"]):
        found = entry["signature"]
        return BrokenLink(key, None, seq, "export_signature", "HMAC(AUDIT_SIGNING_KEY)", found)
    with snapshot():
        chain = AuditChain.objects.filter(key=key).first()
        if chain is None or chain.pk != entry["chain_id"]:
            found = str(chain.pk) if chain else "-"
            return BrokenLink(key, None, seq, "export_chain", str(entry["chain_id"]), found)
        if seq > chain.last_seq:
            return BrokenLink(key, None, seq, "export_beyond_head", str(seq), str(chain.last_seq))
        (start_seq, _start_hash), _broken = chain_start(chain)
        if seq <= start_seq:
            # Dropped by retention: the signed checkpoint vouches for it, and the
            # chain's own verification reports a start without one.
            return None
        event = AuditEvent.objects.filter(chain=chain, seq=seq).values_list("id", "hash").first()
    event_id, found = event or (None, "")
    if found != signed_hash:
        return BrokenLink(key, event_id, seq, "export_hash", signed_hash, found)
    return None
