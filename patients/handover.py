"""The practice's hand-over at offboarding: every patient's file
(patients/portability.py), encrypted to a passphrase the practice holds, with a
manifest and checksums it can verify, and a check that the file round-trips.

A hand-over is a directory:

    manifest.json        what it holds (counts per section), how it is encrypted
                         (scrypt parameters and salt), and the data file's SHA-256
    patients.jsonl.enc   the records, encrypted
    SHA256SUMS           `sha256sum -c SHA256SUMS` checks both files

The data file: header = MAGIC (8) | scrypt n (4) | r (4) | p (4) | salt (16), then
records = length (4, big endian) | nonce (12) | ciphertext + tag. Record i is one
patient's document, then one sealed row tied to no patient (a call message about
no one known), each UTF-8 JSON sealed with AES-256-GCM under the key scrypt derives
from the passphrase and the salt; its associated data is header | i (8) | final (1).
The last record, and only it, is flagged final: it is the trailer (the counts of the
manifest), so a file cut at a record boundary, records dropped, reordered or spliced
from another hand-over, or a manifest whose counts were edited, all fail the check.

Why a passphrase rather than the practice's public key: docs/decisions.md.
"""

import base64
import hashlib
import json
import os
import secrets
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from accounts.models import Practice
from patients import portability
from patients.models import Patient
from patients.selectors import sealed_records_without_patient

FORMAT = "secretariat.practice-handover"
FORMAT_VERSION = 1
MAGIC = b"SECHOV01"
DATA_FILE = "patients.jsonl.enc"
MANIFEST_FILE = "manifest.json"
SUMS_FILE = "SHA256SUMS"
# scrypt: 2**17 x 8 x 128 bytes = 128 MiB and seconds per derivation (3.5-4.2 s
# measured on a shared 2-CPU machine at load 14), the cost an attacker pays per
# guess (OWASP's minimum is 2**17 with r=8, p=1).
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
# A file asking for more than this is refused before deriving (memory bomb).
MAX_SCRYPT_N = 2**20
MIN_PASSPHRASE = 16
_HEADER = struct.Struct(">8sIII16s")
_LENGTH = struct.Struct(">I")
_NONCE = 12
MAX_RECORD_BYTES = 256 * 1024 * 1024
BATCH = 500
# The section of the counts for the sealed rows tied to no patient.
OTHER = "records_without_patient"


class HandoverError(Exception):
    """The hand-over is not intact or not readable with this passphrase. The
    message says what failed, never any data."""


def new_passphrase() -> str:
    """160 random bits, as 8 groups of 4 letters and digits (base32): easy to
    read out on the phone, typed with or without the dashes."""
    text = base64.b32encode(secrets.token_bytes(20)).decode()
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def _normalised(passphrase: str) -> bytes:
    return passphrase.strip().encode()


def derive_key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    if not 2 <= n <= MAX_SCRYPT_N or r > 32 or p > 16:
        raise HandoverError("paramètres de dérivation refusés")
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(_normalised(passphrase))


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + struct.pack(">QB", index, 1 if final else 0)


@dataclass
class Counts:
    patients: int
    sections: dict[str, int]

    def add(self, document: dict) -> None:
        if "patient" not in document:
            # A sealed row tied to no patient (a call message about no one known).
            self.sections[OTHER] = self.sections.get(OTHER, 0) + 1
            return
        self.patients += 1
        for section in portability.sections():
            rows = document.get(section.key)
            if isinstance(rows, list):
                self.sections[section.key] = self.sections.get(section.key, 0) + len(rows)
        self.sections["accesses"] = self.sections.get("accesses", 0) + len(document["accesses"])

    def as_dict(self) -> dict:
        return {"patients": self.patients, "sections": dict(sorted(self.sections.items()))}


class _Writer:
    def __init__(self, out: BinaryIO, key: bytes, header: bytes) -> None:
        self.out, self.cipher, self.header, self.index = out, AESGCM(key), header, 0
        self.digest = hashlib.sha256(header)
        out.write(header)

    def record(self, payload: bytes, *, final: bool = False) -> None:
        nonce = os.urandom(_NONCE)
        sealed = self.cipher.encrypt(nonce, payload, _aad(self.header, self.index, final))
        chunk = _LENGTH.pack(_NONCE + len(sealed)) + nonce + sealed
        self.digest.update(chunk)
        self.out.write(chunk)
        self.index += 1


def _documents(practice: Practice) -> Iterator[dict]:
    """Each patient's document, then each sealed row tied to no patient."""
    patients = Patient.objects.filter(practice=practice).order_by("pk")
    for patient in patients.iterator(chunk_size=BATCH):
        yield portability.patient_document(patient, clinical=True)
    yield from sealed_records_without_patient(practice)


def _json(value: object) -> bytes:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False).encode()


def _create_dir(directory: Path) -> None:
    if directory.exists():
        raise HandoverError(f"{directory} existe déjà : choisissez un autre nom.")
    directory.mkdir(mode=0o700, parents=False)


def _open_new(path: Path) -> BinaryIO:
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def write_handover(
    practice: Practice, directory: Path, passphrase: str, *, n: int = SCRYPT_N
) -> dict:
    """Write the hand-over of every patient of the practice (call it inside the
    practice's scope). Returns the manifest. Nothing is written in clear but the
    manifest, which holds counts and no patient data."""
    if len(_normalised(passphrase)) < MIN_PASSPHRASE:
        raise HandoverError(f"phrase secrète trop courte ({MIN_PASSPHRASE} caractères au moins)")
    _create_dir(directory)
    salt = os.urandom(16)
    header = _HEADER.pack(MAGIC, n, SCRYPT_R, SCRYPT_P, salt)
    key = derive_key(passphrase, salt, n, SCRYPT_R, SCRYPT_P)
    counts = Counts(0, {})
    with _open_new(directory / DATA_FILE) as out:
        writer = _Writer(out, key, header)
        for document in _documents(practice):
            counts.add(document)
            writer.record(_json(document))
        writer.record(_json({"trailer": counts.as_dict()}), final=True)
    manifest = _manifest(practice, counts, salt, n, writer.digest.hexdigest(), directory)
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=2).encode() + b"\n"
    with _open_new(directory / MANIFEST_FILE) as out:
        out.write(manifest_bytes)
    sums = (
        f"{manifest['data_sha256']}  {DATA_FILE}\n"
        f"{hashlib.sha256(manifest_bytes).hexdigest()}  {MANIFEST_FILE}\n"
    )
    with _open_new(directory / SUMS_FILE) as out:
        out.write(sums.encode())
    return manifest


def _manifest(
    practice: Practice, counts: Counts, salt: bytes, n: int, digest: str, directory: Path
) -> dict:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "schema": portability.SCHEMA,
        "schema_version": portability.SCHEMA_VERSION,
        "practice": {"name": practice.name, "slug": practice.slug},
        "created_at": timezone.localtime().isoformat(),
        **counts.as_dict(),
        "encryption": {
            "cipher": "AES-256-GCM",
            "kdf": "scrypt",
            "n": n,
            "r": SCRYPT_R,
            "p": SCRYPT_P,
            "salt": base64.b64encode(salt).decode(),
        },
        "data_file": DATA_FILE,
        "data_bytes": (directory / DATA_FILE).stat().st_size,
        "data_sha256": digest,
    }


def read_manifest(directory: Path) -> dict:
    try:
        manifest = json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise HandoverError(f"manifeste illisible ({type(error).__name__})") from None
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise HandoverError("ce dossier n'est pas une restitution de cabinet (format inconnu)")
    return manifest


def check_sums(directory: Path) -> str:
    """What `sha256sum -c SHA256SUMS` checks; returns the data file's SHA-256."""
    try:
        lines = (directory / SUMS_FILE).read_text(encoding="ascii").splitlines()
    except (OSError, ValueError):
        raise HandoverError("SHA256SUMS illisible") from None
    names = set()
    for line in lines:
        expected, _sep, name = line.partition("  ")
        if name not in (DATA_FILE, MANIFEST_FILE):
            raise HandoverError("SHA256SUMS nomme un fichier inattendu")
        if _file_sha256(directory / name) != expected:
            raise HandoverError(f"empreinte SHA-256 différente pour {name}")
        names.add(name)
    if names != {DATA_FILE, MANIFEST_FILE}:
        raise HandoverError("SHA256SUMS incomplet")
    return _file_sha256(directory / DATA_FILE)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_exact(source: BinaryIO, size: int) -> bytes:
    data = source.read(size)
    if len(data) != size:
        raise HandoverError("fichier tronqué")
    return data


def read_documents(directory: Path, passphrase: str) -> Iterator[dict]:
    """Each patient's document, decrypted and authenticated, then checks the
    trailer against the manifest. Raises HandoverError on any fault."""
    manifest = read_manifest(directory)
    with (directory / DATA_FILE).open("rb") as source:
        header = _read_exact(source, _HEADER.size)
        magic, n, r, p, salt = _HEADER.unpack(header)
        if magic != MAGIC:
            raise HandoverError("fichier de données inconnu")
        cipher = AESGCM(derive_key(passphrase, salt, n, r, p))
        trailer = yield from _records(source, header, cipher)
    if trailer != {"patients": manifest.get("patients"), "sections": manifest.get("sections")}:
        raise HandoverError("le manifeste ne correspond pas au contenu chiffré")


def _records(source: BinaryIO, header: bytes, cipher: AESGCM) -> Iterator[dict]:
    index = 0
    while True:
        length_bytes = source.read(_LENGTH.size)
        if len(length_bytes) != _LENGTH.size:
            raise HandoverError("fichier tronqué (pas d'enregistrement final)")
        (length,) = _LENGTH.unpack(length_bytes)
        if not _NONCE < length <= MAX_RECORD_BYTES:
            raise HandoverError("enregistrement de taille invalide")
        chunk = _read_exact(source, length)
        document, final = _open_record(cipher, header, index, chunk)
        if final:
            if source.read(1):
                raise HandoverError("données après l'enregistrement final")
            return document["trailer"]
        yield document
        index += 1


def _open_record(cipher: AESGCM, header: bytes, index: int, chunk: bytes) -> tuple[dict, bool]:
    nonce, sealed = chunk[:_NONCE], chunk[_NONCE:]
    for final in (False, True):
        try:
            plain = cipher.decrypt(nonce, sealed, _aad(header, index, final))
        except InvalidTag:
            continue
        return json.loads(plain), final
    raise HandoverError(
        f"enregistrement {index} illisible : phrase secrète erronée ou fichier altéré"
    )


@dataclass
class CheckReport:
    patients: int
    sections: dict[str, int]
    compared_with_database: bool
    data_sha256: str


def check_handover(
    directory: Path, passphrase: str, practice: Practice | None = None
) -> CheckReport:
    """Prove the hand-over round-trips: checksums, every record decrypted and
    authenticated, counts equal to the manifest's, and, while the practice's data
    is still here (call it inside its scope), each patient's document equal to a
    fresh export of it (the access trail aside, which grows with every read)."""
    data_sha256 = check_sums(directory)
    counts = Counts(0, {})
    expected = _fresh(practice) if practice is not None else None
    for document in read_documents(directory, passphrase):
        counts.add(document)
        if expected is not None:
            _compare(document, expected)
    if expected:
        raise HandoverError(f"{len(expected)} dossier(s) du cabinet absent(s) de la restitution")
    return CheckReport(counts.patients, counts.sections, practice is not None, data_sha256)


def _key(document: dict) -> str:
    if "patient" in document:
        return f"patient {document['patient'].get('id')}"
    return f"{document.get('sealed_record')} {document.get('id')}"


def _fresh(practice: Practice) -> dict[str, str]:
    """Record key -> digest of the comparable part of a fresh export: a digest
    per record, so that memory stays small whatever the practice's size."""
    return {
        _key(document): _digest(json.loads(_json(document))) for document in _documents(practice)
    }


def _digest(document: dict) -> str:
    comparable = {
        key: value for key, value in document.items() if key not in ("generated_at", "accesses")
    }
    return hashlib.sha256(json.dumps(comparable, sort_keys=True).encode()).hexdigest()


def _compare(document: dict, expected: dict[str, str]) -> None:
    key = _key(document)
    if key not in expected:
        raise HandoverError(f"{key} inconnu du cabinet")
    if _digest(document) != expected.pop(key):
        raise HandoverError(f"{key} : le contenu diffère de la base")
