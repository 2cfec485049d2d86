"""Streaming authenticated encryption of backup files (AES-256-GCM in chunks).

File layout:
    header  = MAGIC (8) | key id (4, big endian) | file id (16) | nonce prefix (8)
    chunk*  = ciphertext length (4, big endian) | ciphertext + tag

Chunk i is sealed with nonce = nonce prefix | i (4 bytes, big endian) and the
associated data = header | i (8 bytes) | final flag (1 byte). The header binds
every chunk to this file (a chunk spliced in from another backup fails), the
index detects reordering and dropped chunks, and the final flag set on the last
chunk only detects truncation at a chunk boundary. Memory stays bounded: at most
two chunks are held at a time, whatever the database size.

Keys: the backup keyring (BACKUP_KEYRING, distinct from the data keyring). The
encryption key and the manifest's HMAC key are derived from the keyring entry
with HKDF under different labels, so one is never used for the other's purpose.
"""

import hashlib
import hmac
import os
import struct
from collections.abc import Callable, Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from secretariat.crypto import Keyring

MAGIC = b"SECBAK01"
_HEADER = struct.Struct(">8sI16s8s")
HEADER_BYTES = _HEADER.size
_LENGTH = struct.Struct(">I")
_TAG_BYTES = 16
DEFAULT_CHUNK_BYTES = 1024 * 1024
# A chunk larger than this in a file is refused before anything is allocated.
MAX_CHUNK_BYTES = 64 * 1024 * 1024
_MAX_CHUNKS = 2**32


class BackupIntegrityError(Exception):
    """The file is not an intact backup made with our key. Messages hold no data."""


def backup_keyring() -> Keyring:
    """Read at the time a backup or restore is attempted, not at start-up, so
    that an environment without BACKUP_KEYRING still serves the application."""
    value = getattr(settings, "BACKUP_KEYRING", "")
    if not value:
        raise ImproperlyConfigured(
            "BACKUP_KEYRING n'est pas défini : ajoutez une clé de sauvegarde "
            "'1:<base64 de 32 octets>' à l'environnement (distincte de SECRETARIAT_KEYRING)."
        )
    try:
        return Keyring.parse(value, getattr(settings, "BACKUP_KEYRING_CURRENT", 0))
    except ImproperlyConfigured:
        raise ImproperlyConfigured(
            "BACKUP_KEYRING doit avoir la forme '1:<base64 de 32 octets>,2:<base64>'."
        ) from None


def _derive(master: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(master)


def encryption_key(keyring: Keyring, key_id: int) -> bytes:
    return _derive(keyring.key(key_id), b"secretariat backup v1 chunk encryption")


def manifest_key(keyring: Keyring, key_id: int) -> bytes:
    return _derive(keyring.key(key_id), b"secretariat backup v1 manifest hmac")


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + struct.pack(">QB", index, 1 if final else 0)


def _nonce(prefix: bytes, index: int) -> bytes:
    if index >= _MAX_CHUNKS:
        raise BackupIntegrityError("too many chunks for one file")
    return prefix + struct.pack(">I", index)


class EncryptingWriter:
    """Encrypts a plaintext stream into `out`, chunk by chunk. `feed()` as data
    arrives, `close()` once: the last chunk carries the final flag."""

    def __init__(
        self,
        out: BinaryIO,
        keyring: Keyring,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        on_write: Callable[[int], None] | None = None,
    ) -> None:
        self.key_id = keyring.current
        self.file_id = os.urandom(16)
        self._aes = AESGCM(encryption_key(keyring, self.key_id))
        self._prefix = os.urandom(8)
        self.header = _HEADER.pack(MAGIC, self.key_id, self.file_id, self._prefix)
        self._out = out
        self._chunk = chunk_bytes
        self._pending = bytearray()
        self._index = 0
        self._on_write = on_write
        self.sha256 = hashlib.sha256()
        self.size = 0
        self._write(self.header)

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self.sha256.update(data)
        self.size += len(data)
        if self._on_write:
            self._on_write(self.size)

    def _emit(self, plaintext: bytes, final: bool) -> None:
        body = self._aes.encrypt(
            _nonce(self._prefix, self._index), plaintext, _aad(self.header, self._index, final)
        )
        self._write(_LENGTH.pack(len(body)) + body)
        self._index += 1

    def feed(self, data: bytes) -> None:
        self._pending += data
        # Keep at least one byte back: only close() knows which chunk is last.
        while len(self._pending) > self._chunk:
            self._emit(bytes(self._pending[: self._chunk]), final=False)
            del self._pending[: self._chunk]

    def close(self) -> None:
        self._emit(bytes(self._pending), final=True)
        self._pending = bytearray()

    @property
    def chunks(self) -> int:
        return self._index


def read_header(source: BinaryIO) -> tuple[bytes, int]:
    header = source.read(HEADER_BYTES)
    if len(header) != HEADER_BYTES:
        raise BackupIntegrityError("fichier trop court : en-tête incomplet")
    magic, key_id, _file_id, _prefix = _HEADER.unpack(header)
    if magic != MAGIC:
        raise BackupIntegrityError("ce fichier n'est pas une sauvegarde Secretariat")
    return header, key_id


def decrypt_chunks(source: BinaryIO, keyring: Keyring) -> Iterator[bytes]:
    """Yields plaintext chunks, each authenticated before it is yielded. Raises
    BackupIntegrityError on any altered, reordered, missing or extra byte."""
    header, key_id = read_header(source)
    _magic, _key_id, _file_id, prefix = _HEADER.unpack(header)
    try:
        aes = AESGCM(encryption_key(keyring, key_id))
    except Exception:
        raise BackupIntegrityError(f"clé de sauvegarde {key_id} absente du trousseau") from None
    index = 0
    while True:
        raw_length = source.read(_LENGTH.size)
        if not raw_length:
            raise BackupIntegrityError(
                f"fichier tronqué : pas de bloc final après le bloc {index - 1}"
            )
        if len(raw_length) != _LENGTH.size:
            raise BackupIntegrityError(f"fichier tronqué dans l'en-tête du bloc {index}")
        (length,) = _LENGTH.unpack(raw_length)
        if length < _TAG_BYTES or length > MAX_CHUNK_BYTES + _TAG_BYTES:
            raise BackupIntegrityError(f"longueur invalide pour le bloc {index}")
        body = source.read(length)
        if len(body) != length:
            raise BackupIntegrityError(f"fichier tronqué dans le bloc {index}")
        nonce = _nonce(prefix, index)
        final = False
        try:
            plaintext = aes.decrypt(nonce, body, _aad(header, index, False))
        except InvalidTag:
            try:
                plaintext = aes.decrypt(nonce, body, _aad(header, index, True))
                final = True
            except InvalidTag:
                raise BackupIntegrityError(
                    f"authentification du bloc {index} impossible (fichier altéré ou mauvaise clé)"
                ) from None
        yield plaintext
        index += 1
        if final:
            if source.read(1):
                raise BackupIntegrityError("données en trop après le bloc final")
            return


class HashingReader:
    """Wraps a file so that every byte read is also hashed (checksum while verifying)."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._source.read(n)
        self.sha256.update(data)
        self.size += len(data)
        return data


def sign_manifest(keyring: Keyring, key_id: int, body: bytes) -> str:
    return hmac.new(manifest_key(keyring, key_id), body, hashlib.sha256).hexdigest()


def verify_manifest_signature(keyring: Keyring, key_id: int, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign_manifest(keyring, key_id, body), signature)
