"""Whole-trail verification: every chain recomputed from its genesis, and its
signed digests checked against it.

A digest is HMAC-SHA256(AUDIT_SIGNING_KEY, "<chain key>:<seq>:<hash>"). The key
lives outside the database, so someone able to rewrite the table (triggers off)
and reset the chain head cannot forge the digest of the head they replaced: the
rewrite or truncation of the newest events shows as a digest that no longer
matches its event.
"""

import hashlib
import hmac
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from audit.chain import BrokenLink, verify_chain
from audit.models import AuditChain, AuditDigest, AuditEvent


def digest_signature(chain_key: str, seq: int, event_hash: str) -> str:
    message = f"{chain_key}:{seq}:{event_hash}".encode()
    key = settings.AUDIT_SIGNING_KEY.encode()
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
    expected = digest_signature(chain.key, digest.seq, digest.hash)
    if hmac.compare_digest(expected, digest.signature):
        return None
    return BrokenLink(chain.key, None, digest.seq, "digest_signature", expected, digest.signature)


def check_digests(chain: AuditChain) -> tuple[int, BrokenLink | None]:
    """Each digest must carry a valid signature and name an event that still
    exists with the signed hash, at or below the current head."""
    digests = list(AuditDigest.objects.filter(chain=chain).order_by("-seq"))
    events = {
        seq: (event_id, event_hash)
        for seq, event_id, event_hash in AuditEvent.objects.filter(
            chain=chain, seq__in=[d.seq for d in digests]
        ).values_list("seq", "id", "hash")
    }
    for digest in digests:
        broken = signature_broken(chain, digest)
        if broken:
            return 0, broken
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
        count, broken = verify_chain(chain)
        checked = 0
        if broken is None:
            checked, broken = check_digests(chain)
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
    pending: queue.SimpleQueue[tuple[int, AuditChain]] = queue.SimpleQueue()
    for position, chain in enumerate(chains):
        pending.put((position, chain))
    reports: list[ChainReport | None] = [None] * len(chains)
    errors: list[BaseException] = []

    def work() -> None:
        # Django connections are per thread: each worker opens its own (each
        # chain in its own snapshot) and closes it when the queue is empty.
        try:
            while not errors:
                try:
                    position, chain = pending.get_nowait()
                except queue.Empty:
                    return
                reports[position] = verify_one(chain)
        except BaseException as error:  # re-raised in the caller's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, name=f"audit-verify-{n}") for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [report for report in reports if report is not None]
