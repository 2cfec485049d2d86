"""Authenticated encryption (AES-256-GCM) bound to where a ciphertext lives.

Sealed format (bytes): version (1 byte) | key id (4 bytes, big endian) |
nonce (12 bytes) | ciphertext + tag. The associated data is the format version,
the key id and the caller's binding (table, column, practice, row), so a
ciphertext moved anywhere else, truncated or altered fails to open. Nothing in
here ever returns ciphertext or an empty value in place of a failed decryption.
"""

import base64
import os
import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache, lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

FORMAT_VERSION = 1
_HEADER = struct.Struct(">BI")
_NONCE_BYTES = 12
KEY_BYTES = 32


class DecryptionError(Exception):
    """A ciphertext could not be opened. The message never holds key or data."""


def _aad(key_id: int, binding: Sequence[object]) -> bytes:
    parts = [f"v{FORMAT_VERSION}", str(key_id), *(str(part) for part in binding)]
    return "|".join(parts).encode()


@lru_cache(maxsize=1024)
def _cipher(key: bytes) -> AESGCM:
    # Building an AESGCM object costs more than encrypting a short field with it.
    return AESGCM(key)


def seal(key: bytes, key_id: int, plaintext: bytes, binding: Sequence[object]) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    body = _cipher(key).encrypt(nonce, plaintext, _aad(key_id, binding))
    return _HEADER.pack(FORMAT_VERSION, key_id) + nonce + body


def sealed_key_id(blob: bytes) -> int:
    if len(blob) < _HEADER.size + _NONCE_BYTES + 16:
        raise DecryptionError("ciphertext too short")
    version, key_id = _HEADER.unpack_from(blob)
    if version != FORMAT_VERSION:
        raise DecryptionError(f"unknown format version {version}")
    return key_id


# Decryptions counted for the Server-Timing header (secretariat.middleware), only
# while a counter is installed: a list of one int, so that nested code adds to it.
_openings: ContextVar[list[int] | None] = ContextVar("openings", default=None)


@contextmanager
def counting_openings() -> Iterator[list[int]]:
    """Count the fields decrypted inside the block: `[n]`."""
    counter = [0]
    token = _openings.set(counter)
    try:
        yield counter
    finally:
        _openings.reset(token)


def open_sealed(key: bytes, blob: bytes, binding: Sequence[object]) -> bytes:
    counter = _openings.get()
    if counter is not None:
        counter[0] += 1
    key_id = sealed_key_id(blob)
    nonce = blob[_HEADER.size : _HEADER.size + _NONCE_BYTES]
    body = blob[_HEADER.size + _NONCE_BYTES :]
    try:
        return _cipher(key).decrypt(nonce, body, _aad(key_id, binding))
    except InvalidTag:
        raise DecryptionError("authentication failed") from None


class Keyring:
    """The key-encryption keyring: versioned keys from the environment."""

    def __init__(self, keys: dict[int, bytes], current: int) -> None:
        if not keys:
            raise ImproperlyConfigured("SECRETARIAT_KEYRING holds no key.")
        if current not in keys:
            raise ImproperlyConfigured(f"SECRETARIAT_KEYRING has no key version {current}.")
        for version, key in keys.items():
            if len(key) != KEY_BYTES:
                raise ImproperlyConfigured(f"Keyring key {version} must be {KEY_BYTES} bytes.")
        self._keys = keys
        self.current = current

    @classmethod
    def parse(cls, value: str, current: int = 0) -> "Keyring":
        keys: dict[int, bytes] = {}
        for item in filter(None, (part.strip() for part in value.split(","))):
            version, _, encoded = item.partition(":")
            try:
                keys[int(version)] = base64.b64decode(encoded, validate=True)
            except ValueError:
                raise ImproperlyConfigured(
                    "SECRETARIAT_KEYRING must read '1:<base64>,2:<base64>'."
                ) from None
        return cls(keys, current or max(keys, default=0))

    def key(self, version: int) -> bytes:
        try:
            return self._keys[version]
        except KeyError:
            raise DecryptionError(f"key version {version} is not in the keyring") from None

    @property
    def versions(self) -> list[int]:
        return sorted(self._keys)

    def seal(self, plaintext: bytes, binding: Sequence[object]) -> bytes:
        return seal(self._keys[self.current], self.current, plaintext, binding)

    def open(self, blob: bytes, binding: Sequence[object]) -> bytes:
        return open_sealed(self.key(sealed_key_id(blob)), blob, binding)


@cache
def keyring() -> Keyring:
    return Keyring.parse(settings.SECRETARIAT_KEYRING, settings.SECRETARIAT_KEYRING_CURRENT)


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def new_keyring_value(version: int = 1) -> str:
    return f"{version}:{base64.b64encode(new_key()).decode()}"
