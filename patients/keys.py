"""Per-practice keys: a data key (DEK) and a blind-index key, stored only
wrapped by the keyring (secretariat.crypto), unwrapped on demand.

The DEK has versions (DEK rotation creates a new one; rows record the version
that sealed them). The blind-index master key stays the same across DEK
versions so that rotation never breaks search; one HMAC key per indexed field is
derived from it with HKDF, so an index of one field says nothing about another.

Unwrapped keys are cached in the process for a short time (KEY_CACHE_SECONDS):
unwrapping is cheap, but the query for the wrapped key is not free on a search
page. Shredding and rotation clear this process's cache; other processes drop
their copy after at most KEY_CACHE_SECONDS.
"""

import contextlib
import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F

from accounts.scoping import practice_scope
from secretariat import crypto

logger = logging.getLogger(__name__)

KEY_CACHE_SECONDS = 30
# AES-GCM with random 96-bit nonces: rotate well before 2**32 encryptions per key.
ROTATE_AFTER_ENCRYPTIONS = 2**30

INDEX_FIELDS = ("name", "name_prefix", "full_name", "birth_date", "phone")


class KeyUnavailable(crypto.DecryptionError):
    """The practice's key was destroyed (crypto-shredding): its data is gone."""


def _binding(practice_id: int, purpose: str, version: int) -> tuple:
    return ("patients_practicekey", purpose, practice_id, version)


def _field_key(master: bytes, field_name: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"bidx:{field_name}".encode()
    ).derive(master)


@dataclass
class PracticeKeys:
    """The unwrapped keys of one practice: DEKs by version and index HMACs."""

    practice_id: int
    current_version: int
    deks: dict[int, bytes]
    _index: dict[str, "hmac.HMAC"] = field(default_factory=dict)

    @classmethod
    def build(cls, practice_id: int, current: int, deks: dict[int, bytes], master: bytes):
        keys = cls(practice_id, current, deks)
        # A pre-keyed HMAC per field, copied per value (cheaper than hmac.new each time).
        keys._index = {
            name: hmac.new(_field_key(master, name), digestmod=hashlib.sha256)
            for name in INDEX_FIELDS
        }
        return keys

    def dek(self, version: int) -> bytes:
        try:
            return self.deks[version]
        except KeyError:
            raise crypto.DecryptionError(f"data key version {version} is not available") from None

    def seal(self, plaintext: str, binding: Sequence[object]) -> bytes:
        return crypto.seal(
            self.deks[self.current_version], self.current_version, plaintext.encode(), binding
        )

    def open(self, blob: bytes, binding: Sequence[object]) -> str:
        version = crypto.sealed_key_id(blob)
        return crypto.open_sealed(self.dek(version), blob, binding).decode()

    def blind_index(self, field_name: str, normalised: str) -> bytes:
        mac = self._index[field_name].copy()
        mac.update(normalised.encode())
        return mac.digest()


_cache: dict[int, tuple[float, PracticeKeys]] = {}
_lock = threading.Lock()


def forget(practice_id: int | None = None) -> None:
    with _lock:
        if practice_id is None:
            _cache.clear()
        else:
            _cache.pop(practice_id, None)


def practice_keys(practice_id: int) -> PracticeKeys:
    """The practice's unwrapped keys, created on first use. Raises KeyUnavailable
    when the practice's keys were destroyed."""
    now = time.monotonic()
    with _lock:
        cached = _cache.get(practice_id)
    if cached and now - cached[0] < KEY_CACHE_SECONDS:
        return cached[1]
    keys = _load(practice_id)
    with _lock:
        _cache[practice_id] = (now, keys)
    return keys


def _load(practice_id: int) -> PracticeKeys:
    from patients.models import PracticeKey  # noqa: PLC0415 -- patients.models imports keys

    with practice_scope(practice_id):
        rows = list(PracticeKey.objects.filter(practice_id=practice_id).order_by("version"))
    if not rows:
        # Another request may have created it first: then its key is the one.
        with contextlib.suppress(IntegrityError):
            practice_key_create(practice_id=practice_id)
        return _load(practice_id)
    live = [row for row in rows if row.destroyed_at is None]
    if not live:
        raise KeyUnavailable("the practice's data key was destroyed")
    ring = crypto.keyring()
    current = live[-1]
    if current.encryptions > ROTATE_AFTER_ENCRYPTIONS:
        logger.warning(
            "practice %s: data key v%s is due for rotation", practice_id, current.version
        )
    deks = {
        row.version: ring.open(bytes(row.wrapped_dek), _binding(practice_id, "dek", row.version))
        for row in live
    }
    master = ring.open(
        bytes(current.wrapped_index_key), _binding(practice_id, "index", current.version)
    )
    return PracticeKeys.build(practice_id, current.version, deks, master)


@transaction.atomic
def practice_key_create(*, practice_id: int, index_master: bytes | None = None):
    """A new DEK version for the practice (the first one, or a rotation). The
    index master key is kept from the previous version unless given."""
    from patients.models import PracticeKey  # noqa: PLC0415 -- patients.models imports keys

    with practice_scope(practice_id):
        rows = list(
            PracticeKey.objects.select_for_update()
            .filter(practice_id=practice_id)
            .order_by("version")
        )
        if rows and all(row.destroyed_at is not None for row in rows):
            raise KeyUnavailable("the practice's data key was destroyed")
        version = rows[-1].version + 1 if rows else 1
        ring = crypto.keyring()
        if index_master is None:
            if rows:
                previous = rows[-1]
                index_master = ring.open(
                    bytes(previous.wrapped_index_key),
                    _binding(practice_id, "index", previous.version),
                )
            else:
                index_master = crypto.new_key()
        key = PracticeKey.objects.create(
            practice_id=practice_id,
            version=version,
            wrapped_dek=ring.seal(crypto.new_key(), _binding(practice_id, "dek", version)),
            wrapped_index_key=ring.seal(index_master, _binding(practice_id, "index", version)),
        )
    forget(practice_id)
    return key


# Encryptions are counted in the process and written to the key's row in one
# UPDATE every COUNT_FLUSH_EVERY encryptions or COUNT_FLUSH_SECONDS, after the
# caller's commit and in a statement of its own. Counted in the transaction, the
# key's row was locked by every booking of the practice until it committed: a
# queue of the whole practice (issue 18 item 2). A process that dies loses at most
# its pending count, a few thousand against a warning at 2**30 and a bound at 2**32.
COUNT_FLUSH_EVERY = 1000
COUNT_FLUSH_SECONDS = 60.0
_pending: dict[tuple[int, int], int] = {}
_pending_lock = threading.Lock()
_last_flush = [time.monotonic()]


def count_encryptions(practice_id: int, version: int, count: int) -> None:
    """Count `count` encryptions under the practice's key version; the row is
    updated later (flush_encryption_counts). Rolled-back encryptions count too:
    their nonces were drawn all the same."""
    if not count:
        return
    with _pending_lock:
        _pending[practice_id, version] = _pending.get((practice_id, version), 0) + count
        due = (
            sum(_pending.values()) >= COUNT_FLUSH_EVERY
            or time.monotonic() - _last_flush[0] >= COUNT_FLUSH_SECONDS
        )
    if due:
        transaction.on_commit(flush_encryption_counts)


def flush_encryption_counts() -> int:
    """Write the pending counts, one short UPDATE per key version, each in
    autocommit (never inside a caller's transaction). Returns the count written."""
    from patients.models import PracticeKey  # noqa: PLC0415 -- patients.models imports keys

    with _pending_lock:
        pending = dict(_pending)
        _pending.clear()
        _last_flush[0] = time.monotonic()
    written = 0
    for (practice_id, version), count in pending.items():
        try:
            with practice_scope(practice_id):
                PracticeKey.objects.filter(practice_id=practice_id, version=version).update(
                    encryptions=F("encryptions") + count
                )
        except DatabaseError as error:
            # Kept for the next flush: after the caller's commit, a failure here
            # must not turn a committed change into an error page.
            logger.warning("encryption count not written: %s", type(error).__name__)
            with _pending_lock:
                _pending[practice_id, version] = _pending.get((practice_id, version), 0) + count
        else:
            written += count
    return written


def rewrap(key) -> bool:
    """Re-seal one PracticeKey's wrapped keys under the keyring's current KEK
    version. Returns whether anything changed."""
    ring = crypto.keyring()
    if key.destroyed_at is not None:
        return False
    changed = False
    for attr, purpose in (("wrapped_dek", "dek"), ("wrapped_index_key", "index")):
        blob = bytes(getattr(key, attr))
        if crypto.sealed_key_id(blob) != ring.current:
            binding = _binding(key.practice_id, purpose, key.version)
            setattr(key, attr, ring.seal(ring.open(blob, binding), binding))
            changed = True
    return changed
