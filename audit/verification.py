"""Whole-trail verification: every chain recomputed from its genesis (or from the
signed checkpoint left when retention dropped its oldest months), and its signed
digests checked against it; and the daily exports of those digests (files outside
the database, see audit.digests.digest_export) checked against the trail.

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
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

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


def verify_through(chain: AuditChain, end: int) -> ChainReport:
    """The chain from its start (genesis or retention checkpoint) to `end` only:
    what dropping a month needs before signing `end` as the next checkpoint
    (audit.partitions.partition_drop). The events after it are the nightly
    verification's, which restarts from that checkpoint."""
    with snapshot():
        chain.refresh_from_db()
        start, broken = chain_start(chain)
        count = 0
        if broken is None:
            count, broken = verify_chain(chain, start=start, end=end)
    return ChainReport(chain.pk, chain.key, count, 0, broken)


def verify_through_all(ends: dict[AuditChain, int]) -> list[ChainReport]:
    """verify_through for each chain, AUDIT_VERIFY_WORKERS at once outside a
    transaction (as verify_all), one by one inside one."""
    items = list(ends.items())
    return list(_each(lambda item: verify_through(*item), items, None, "audit-drop"))


def verify_all(practice_id: int | None = None, workers: int | None = None) -> list[ChainReport]:
    """Every chain (or one practice's), in chain id order, then the events that
    no chain head covers (see verify_each)."""
    return list(verify_each(practice_id, workers))


def verify_each(
    practice_id: int | None = None, workers: int | None = None
) -> Iterator[ChainReport]:
    """verify_all's reports one by one, in chain id order, each as soon as it and
    those before it are verified (audit_verify prints them as they come), then
    the orphans (see orphan_chain_ids). On PostgreSQL outside a transaction,
    `workers` threads (default AUDIT_VERIFY_WORKERS) verify chains at once: the
    work is in the server (one statement per chain, each on its own connection,
    so on its own server process) and psycopg releases the GIL while it waits.
    Inside a transaction (tests, callers) other connections would not see its
    uncommitted rows, so chains are verified one by one in it."""
    chains = AuditChain.objects.order_by("id")
    if practice_id is not None:
        chains = chains.filter(practice_id=practice_id)
    yield from _each(verify_one, list(chains), workers, "audit-verify")
    for chain_id in orphan_chain_ids(practice_id):
        yield orphan_report(chain_id)


def _each[Item](
    verify: Callable[[Item], ChainReport], items: list[Item], workers: int | None, name: str
) -> Iterator[ChainReport]:
    """verify(item) for each item, in order. Outside a transaction on PostgreSQL,
    `workers` threads take the items one after the other, each on its own
    connection kept for all its items (a connection per chain would cost a
    handshake per practice) and closed once the items run out; the results are
    yielded in the items' order as soon as they are ready."""
    workers = min(workers or settings.AUDIT_VERIFY_WORKERS, len(items))
    if workers <= 1 or connection.vendor != "postgresql" or connection.in_atomic_block:
        yield from map(verify, items)
        return
    results: dict[int, ChainReport | BaseException] = {}
    ready = threading.Condition()
    queue = iter(enumerate(items))

    def work() -> None:
        try:
            while True:
                with ready:
                    number, item = next(queue, (None, None))
                if number is None:
                    return
                try:
                    result = verify(item)
                except BaseException as error:  # re-raised in the caller's thread
                    result = error
                with ready:
                    results[number] = result
                    ready.notify_all()
        finally:
            connection.close()

    threads = [
        threading.Thread(target=work, name=f"{name}-{number}", daemon=True)
        for number in range(workers)
    ]
    for thread in threads:
        thread.start()
    try:
        for number in range(len(items)):
            with ready:
                ready.wait_for(lambda number=number: number in results)
                result = results.pop(number)
            if isinstance(result, BaseException):
                raise result
            yield result
    finally:
        # An exception, or a caller that stops early: the threads finish the
        # chain they hold and take no other.
        with ready:
            queue = iter(())
        for thread in threads:
            thread.join()


# Every chain id the events name, without reading the events: a loose index scan
# on (chain_id, seq), one probe per chain and month partition.
_PG_CHAIN_IDS = """
WITH RECURSIVE found AS (
    (SELECT chain_id FROM audit_auditevent ORDER BY chain_id LIMIT 1)
    UNION ALL
    SELECT (SELECT e.chain_id FROM audit_auditevent AS e
            WHERE e.chain_id > found.chain_id ORDER BY e.chain_id LIMIT 1)
    FROM found WHERE found.chain_id IS NOT NULL
)
SELECT chain_id FROM found WHERE chain_id IS NOT NULL
"""


def orphan_chain_ids(practice_id: int | None = None) -> list[int]:
    """Chain ids named by events but with no chain head: events that checking the
    heads one by one never reaches (a head deleted, or events inserted under a
    made-up chain), yet which show in a practice's reports. With a practice,
    only those holding one of its events."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_PG_CHAIN_IDS)
            named = {chain_id for (chain_id,) in cursor.fetchall()}
    else:
        named = set(AuditEvent.objects.values_list("chain_id", flat=True).distinct())
    known = set(AuditChain.objects.filter(pk__in=named).values_list("pk", flat=True))
    orphans = sorted(named - known)
    if practice_id is not None:
        orphans = [
            chain_id
            for chain_id in orphans
            if AuditEvent.objects.filter(chain_id=chain_id, practice_id=practice_id).exists()
        ]
    return orphans


def orphan_report(chain_id: int) -> ChainReport:
    """A break for events under a chain id with no head, naming the newest one."""
    key = f"chain:{chain_id}"
    newest = (
        AuditEvent.objects.filter(chain_id=chain_id).order_by("-seq").values("id", "seq").first()
    ) or {"id": None, "seq": 0}
    broken = BrokenLink(key, newest["id"], newest["seq"], "unknown_chain", "tête de chaîne", "-")
    return ChainReport(chain_id, key, 0, 0, broken)


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


def export_stale(path: Path) -> BrokenLink | None:
    """A break when the export was last written more than three seal intervals
    ago: the seal has stopped, and with it the short detection window."""
    document, broken = _export_load(path)
    if broken is not None:
        return None  # export_check reports the file itself
    written = datetime.fromisoformat(document["generated_at"].replace("Z", "+00:00"))
    limit = timedelta(minutes=3 * settings.AUDIT_SEAL_MINUTES)
    if timezone.now() - written <= limit:
        return None
    return BrokenLink(path.name, None, 0, "export_stale", str(limit), document["generated_at"])


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
    broken = entry_signature_broken(entry)
    if broken is not None:
        return broken
    with snapshot():
        chain = AuditChain.objects.filter(key=entry["chain"]).first()
        if chain is None:
            return BrokenLink(
                entry["chain"], None, entry["seq"], "export_chain", str(entry["chain_id"]), "-"
            )
        return entry_against_chain(chain, entry)


def entry_signature_broken(entry: dict) -> BrokenLink | None:
    key, seq = entry["chain"], entry["seq"]
    expected = digest_signature(key, seq, entry["hash"])
    if hmac.compare_digest(expected, entry["signature"]):
        return None
    found = entry["signature"]
    return BrokenLink(key, None, seq, "export_signature", "HMAC(AUDIT_SIGNING_KEY)", found)


def entry_against_chain(chain: AuditChain, entry: dict) -> BrokenLink | None:
    """An exported head (signature already checked) against the chain, inside the
    caller's snapshot: same chain, a head at or beyond it, its event still there
    with the signed hash (unless retention dropped it)."""
    key, seq, signed_hash = entry["chain"], entry["seq"], entry["hash"]
    if chain.pk != entry["chain_id"]:
        return BrokenLink(key, None, seq, "export_chain", str(entry["chain_id"]), str(chain.pk))
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


def export_load(path: Path) -> tuple[dict, BrokenLink | None]:
    """The export's document once its format and signature are checked."""
    return _export_load(path)


def verify_since_anchor(
    chain: AuditChain, entry: dict | None = None
) -> tuple[int, BrokenLink | None]:
    """The chain from its last signed head to its current head, inside the
    caller's snapshot (chain refreshed in it): from `entry` (its head in the
    newest export) once that is checked against the chain, else from its newest
    signed daily digest, else from its start. Events before the anchor were
    checked when it was signed (and again by the nightly full verification)."""
    start, broken = chain_start(chain)
    if broken is not None:
        return 0, broken
    if entry is not None:
        broken = entry_signature_broken(entry) or entry_against_chain(chain, entry)
        if broken is not None:
            return 0, broken
        if entry["seq"] > start[0]:
            start = (entry["seq"], entry["hash"])
    else:
        last = (
            AuditDigest.objects.filter(chain=chain, kind=AuditDigest.Kind.DAILY)
            .order_by("-seq")
            .first()
        )
        if last is not None and last.seq > start[0]:
            broken = signature_broken(chain, last)
            if broken is not None:
                return 0, broken
            start = (last.seq, last.hash)
    return verify_chain(chain, start=start)
