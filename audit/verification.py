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
from dataclasses import dataclass

from django.conf import settings

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


def check_digests(chain: AuditChain) -> tuple[int, BrokenLink | None]:
    """Each digest must carry a valid signature and name an event that still
    exists with the signed hash, at or below the current head."""
    digests = list(AuditDigest.objects.filter(chain=chain).order_by("-seq"))
    hashes = dict(
        AuditEvent.objects.filter(chain=chain, seq__in=[d.seq for d in digests]).values_list(
            "seq", "hash"
        )
    )
    ids = dict(
        AuditEvent.objects.filter(chain=chain, seq__in=[d.seq for d in digests]).values_list(
            "seq", "id"
        )
    )
    for digest in digests:
        expected = digest_signature(chain.key, digest.seq, digest.hash)
        if not hmac.compare_digest(expected, digest.signature):
            return 0, BrokenLink(
                chain.key, None, digest.seq, "digest_signature", expected, digest.signature
            )
        if digest.seq > chain.last_seq:
            return 0, BrokenLink(
                chain.key,
                None,
                digest.seq,
                "digest_beyond_head",
                str(digest.seq),
                str(chain.last_seq),
            )
        found = hashes.get(digest.seq, "")
        if found != digest.hash:
            return 0, BrokenLink(
                chain.key, ids.get(digest.seq), digest.seq, "digest_hash", digest.hash, found
            )
    return len(digests), None


def verify_one(chain: AuditChain) -> ChainReport:
    chain.refresh_from_db()
    count, broken = verify_chain(chain)
    checked = 0
    if broken is None:
        checked, broken = check_digests(chain)
    return ChainReport(chain.pk, chain.key, count, checked, broken)


def verify_all(practice_id: int | None = None) -> list[ChainReport]:
    chains = AuditChain.objects.order_by("id")
    if practice_id is not None:
        chains = chains.filter(practice_id=practice_id)
    return [verify_one(chain) for chain in chains]
