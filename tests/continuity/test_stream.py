"""The chunked encryption format on its own: every kind of damage is refused."""

import io
import os

import pytest

from continuity import stream
from continuity.stream import BackupIntegrityError
from secretariat.crypto import Keyring, new_keyring_value

KEYRING = Keyring.parse(new_keyring_value())


def _encrypt(data: bytes, chunk: int = 100, keyring: Keyring = KEYRING) -> bytes:
    out = io.BytesIO()
    writer = stream.EncryptingWriter(out, keyring, chunk_bytes=chunk)
    for start in range(0, len(data), 37):
        writer.feed(data[start : start + 37])
    writer.close()
    return out.getvalue()


def _decrypt(blob: bytes, keyring: Keyring = KEYRING) -> bytes:
    return b"".join(stream.decrypt_chunks(io.BytesIO(blob), keyring))


def _chunk_offsets(blob: bytes) -> list[int]:
    offsets, position = [], stream.HEADER_BYTES
    while position < len(blob):
        offsets.append(position)
        position += 4 + int.from_bytes(blob[position : position + 4], "big")
    return offsets


@pytest.mark.parametrize("size", [0, 1, 99, 100, 101, 1000])
def test_stream_round_trip_any_size(size):
    data = os.urandom(size)
    assert _decrypt(_encrypt(data)) == data


def test_stream_every_flipped_byte_is_refused():
    blob = _encrypt(os.urandom(250), chunk=64)
    for position in range(len(blob)):
        damaged = bytearray(blob)
        damaged[position] ^= 0x01
        with pytest.raises(BackupIntegrityError):
            _decrypt(bytes(damaged))


def test_stream_truncated_at_chunk_boundary_is_refused():
    blob = _encrypt(os.urandom(1000))
    last = _chunk_offsets(blob)[-1]
    with pytest.raises(BackupIntegrityError, match="tronqué"):
        _decrypt(blob[:last])


def test_stream_truncated_inside_chunk_is_refused():
    blob = _encrypt(os.urandom(1000))
    with pytest.raises(BackupIntegrityError):
        _decrypt(blob[:-5])


def test_stream_reordered_chunks_are_refused():
    blob = _encrypt(os.urandom(300))
    first, second, third = _chunk_offsets(blob)[:3]
    swapped = blob[:first] + blob[second:third] + blob[first:second] + blob[third:]
    with pytest.raises(BackupIntegrityError):
        _decrypt(swapped)


def test_stream_chunk_from_another_file_is_refused():
    data = os.urandom(300)
    one, other = _encrypt(data), _encrypt(data)
    first, second = _chunk_offsets(one)[:2]
    spliced = one[:first] + other[first:second] + one[second:]
    with pytest.raises(BackupIntegrityError):
        _decrypt(spliced)


def test_stream_trailing_data_is_refused():
    with pytest.raises(BackupIntegrityError, match="en trop"):
        _decrypt(_encrypt(b"abc") + b"\x00")


def test_stream_wrong_key_is_refused():
    other = Keyring.parse(new_keyring_value())
    with pytest.raises(BackupIntegrityError):
        _decrypt(_encrypt(b"data"), other)


def test_stream_old_key_version_still_decrypts_after_rotation():
    old = new_keyring_value(1)
    blob = _encrypt(b"data", keyring=Keyring.parse(old))
    rotated = Keyring.parse(old + "," + new_keyring_value(2))
    assert rotated.current == 2
    assert _decrypt(blob, rotated) == b"data"


def test_stream_encryption_key_differs_from_manifest_key():
    assert stream.encryption_key(KEYRING, 1) != stream.manifest_key(KEYRING, 1)
    assert stream.encryption_key(KEYRING, 1) != KEYRING.key(1)
