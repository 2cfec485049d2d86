"""The practice's hand-over (export_practice): complete, encrypted to the
practice's passphrase, verifiable with sha256sum, and proven to round-trip by
check_practice_export; any alteration is refused."""

import json
import shutil
import stat
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.scoping import practice_scope
from audit.models import AuditEvent
from patients import handover, portability
from tests.patients.helpers import add_note
from tests.patients.test_portability import _ids, _with_one_row_of_every_kind, patient_references

pytestmark = pytest.mark.django_db

PASSPHRASE = "cheval-correct-agrafe-pile"


@pytest.fixture
def passphrase_file(tmp_path) -> Path:
    path = tmp_path / "phrase.txt"
    path.write_text(PASSPHRASE + "\n")
    return path


def _export(world, tmp_path, passphrase_file) -> Path:
    output = tmp_path / "restitution"
    call_command(
        "export_practice",
        "--practice",
        world.practice_a.slug,
        "--output",
        str(output),
        "--passphrase-file",
        str(passphrase_file),
    )
    return output


def _check(output: Path, passphrase_file: Path, practice: str | None = "cabinet-a") -> str:
    args = ["--input", str(output), "--passphrase-file", str(passphrase_file)]
    if practice:
        args += ["--practice", practice]
    out = StringIO()
    call_command("check_practice_export", *args, stdout=out)
    return out.getvalue()


def _resum(output: Path) -> None:
    """What an attacker who edits the files also does: fresh checksums."""
    sums = "".join(
        f"{handover._file_sha256(output / name)}  {name}\n"
        for name in (handover.DATA_FILE, handover.MANIFEST_FILE)
    )
    (output / handover.SUMS_FILE).write_text(sums)


def test_handover_holds_every_row_of_every_patient_and_nothing_in_clear(
    world, tmp_path, passphrase_file
):
    made = _with_one_row_of_every_kind(world)
    patient = made["a"]
    output = _export(world, tmp_path, passphrase_file)
    assert sorted(path.name for path in output.iterdir()) == sorted(
        [handover.DATA_FILE, handover.MANIFEST_FILE, handover.SUMS_FILE]
    )
    for path in output.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        raw = path.read_bytes()
        for clear in ("Fuite", "Note secrète", "Motif secret", "Rappeler", "284076938212345"):
            assert clear.encode() not in raw
    documents = list(handover.read_documents(output, PASSPHRASE))
    assert [document["patient"]["id"] for document in documents] == [str(patient.pk)]
    document = documents[0]
    assert document["withheld"] == []
    for model, lookup in patient_references():
        with practice_scope(patient.practice):
            rows = model._default_manager.filter(**{lookup: patient}).values_list("pk", flat=True)
        exported = set()
        for section in portability.sections():
            if model in section.models:
                exported |= _ids(document[section.key])
        assert {str(pk) for pk in rows} <= exported, model._meta.label
    assert str(made["b"].pk) not in json.dumps(documents)
    manifest = json.loads((output / handover.MANIFEST_FILE).read_text())
    assert manifest["patients"] == 1 and manifest["sections"]["clinical_notes"] == 1
    event = AuditEvent.objects.filter(action="export", object_type="practice").get()
    assert event.detail["purpose"] == "offboarding"
    assert event.detail["sha256"] == manifest["data_sha256"]


def test_handover_round_trips_and_sha256sum_agrees(world, tmp_path, passphrase_file):
    _with_one_row_of_every_kind(world)
    output = _export(world, tmp_path, passphrase_file)
    assert "Restitution intègre : 1 dossiers déchiffrés et identiques à la base" in _check(
        output, passphrase_file
    )
    assert "Restitution intègre" in _check(output, passphrase_file, practice=None)
    _the_documented_reader_opens_it(output)
    if shutil.which("sha256sum"):
        result = subprocess.run(
            ["sha256sum", "-c", handover.SUMS_FILE], cwd=output, capture_output=True, check=False
        )
        assert result.returncode == 0


def _the_documented_reader_opens_it(output: Path) -> None:
    """The ten lines of docs/export.md, run as the practice would run them."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "export.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    code = code.replace("THE-PASSPHRASE", PASSPHRASE)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=output, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-300:]
    lines = result.stdout.splitlines()
    assert lines[0] == "patient Fuite"
    assert lines[-1].startswith("trailer {'patients': 1")


def test_handover_refuses_a_wrong_passphrase(world, tmp_path, passphrase_file):
    _with_one_row_of_every_kind(world)
    output = _export(world, tmp_path, passphrase_file)
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("ceci-n-est-pas-la-bonne-phrase\n")
    with pytest.raises(CommandError, match="phrase secrète erronée ou fichier altéré"):
        _check(output, wrong)


def _last_record_offset(data: bytes) -> int:
    offset = handover._HEADER.size
    last = offset
    while offset < len(data):
        (length,) = handover._LENGTH.unpack(data[offset : offset + 4])
        last = offset
        offset += 4 + length
    return last


@pytest.mark.parametrize("alteration", ["flip", "truncate", "manifest", "sums"])
def test_handover_refuses_any_alteration(world, tmp_path, passphrase_file, alteration):
    _with_one_row_of_every_kind(world)
    output = _export(world, tmp_path, passphrase_file)
    data_path = output / handover.DATA_FILE
    data = data_path.read_bytes()
    if alteration == "flip":
        data_path.write_bytes(data[:-40] + bytes([data[-40] ^ 1]) + data[-39:])
    elif alteration == "truncate":
        data_path.write_bytes(data[: _last_record_offset(data)])
    elif alteration == "manifest":
        manifest_path = output / handover.MANIFEST_FILE
        manifest = json.loads(manifest_path.read_text())
        manifest["patients"] = 2
        manifest_path.write_text(json.dumps(manifest))
    if alteration != "sums":
        _resum(output)
    else:
        data_path.write_bytes(data + b"\0")
    with pytest.raises(CommandError, match="Restitution refusée"):
        _check(output, passphrase_file, practice=None)


def test_handover_check_sees_the_database_differ(world, tmp_path, passphrase_file):
    made = _with_one_row_of_every_kind(world)
    output = _export(world, tmp_path, passphrase_file)
    add_note(made["a"], world.users["practitioner_a"], "Note ajoutée après l'export")
    with pytest.raises(CommandError, match="le contenu diffère de la base"):
        _check(output, passphrase_file)


def test_handover_generates_a_passphrase_when_none_is_given(world, tmp_path):
    _with_one_row_of_every_kind(world)
    output = tmp_path / "restitution"
    out = StringIO()
    call_command("export_practice", "--practice", "cabinet-a", "--output", str(output), stdout=out)
    phrase = out.getvalue().rsplit(": ", 1)[1].strip()
    assert len(phrase.replace("-", "")) == 32
    assert len(list(handover.read_documents(output, phrase))) == 1


def test_handover_refuses_an_existing_output_and_a_short_passphrase(world, tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("court\n")
    with pytest.raises(CommandError, match="trop courte"):
        call_command(
            "export_practice",
            "--practice",
            "cabinet-a",
            "--output",
            str(tmp_path / "x"),
            "--passphrase-file",
            str(short),
        )
    with pytest.raises(CommandError, match="existe déjà"):
        call_command("export_practice", "--practice", "cabinet-a", "--output", str(tmp_path))


def test_handover_check_refuses_hostile_files_before_any_work(world, tmp_path, passphrase_file):
    _with_one_row_of_every_kind(world)
    output = _export(world, tmp_path, passphrase_file)
    data_path = output / handover.DATA_FILE
    data = data_path.read_bytes()
    magic, _n, r, p, salt = handover._HEADER.unpack(data[: handover._HEADER.size])
    # A header asking scrypt for 2**30 x 8 x 128 bytes (128 GiB): refused, not derived.
    bomb = handover._HEADER.pack(magic, 2**30, r, p, salt)
    data_path.write_bytes(bomb + data[handover._HEADER.size :])
    _resum(output)
    with pytest.raises(CommandError, match="paramètres de dérivation refusés"):
        _check(output, passphrase_file, practice=None)
    (output / handover.MANIFEST_FILE).write_text("pas du JSON")
    _resum(output)
    with pytest.raises(CommandError, match="manifeste illisible"):
        _check(output, passphrase_file, practice=None)
    with pytest.raises(CommandError, match="SHA256SUMS illisible"):
        _check(tmp_path, passphrase_file, practice=None)
