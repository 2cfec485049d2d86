"""Sealed fields: round trip, tampering, moved ciphertexts, key versions."""

import pytest
from django.db import connection

from accounts.scoping import practice_scope
from audit.models import AuditEvent
from patients import keys
from patients.models import Patient, PracticeKey
from secretariat import crypto
from tests.patients.helpers import add_note, make_patient

pytestmark = pytest.mark.django_db


def _reload(patient: Patient) -> Patient:
    with practice_scope(patient.practice_id):
        return Patient.objects.get(pk=patient.pk)


def test_sealed_fields_round_trip(world):
    patient = _reload(make_patient(world.practice_a, last_name="Lefèvre", nir="284076938212345"))
    assert patient.read("last_name") == "Lefèvre"
    assert patient.read("first_names") == "Élodie Marie"
    assert patient.read("birth_date") == "1984-07-14"
    assert patient.read("phone") == "+33612345678"
    assert patient.read("nir") == "284076938212345"
    assert patient.read("phone_alt") == ""


def test_practice_key_is_stored_wrapped_only(world):
    make_patient(world.practice_a)
    keys.flush_encryption_counts()
    with practice_scope(world.practice_a):
        key = PracticeKey.objects.get(practice=world.practice_a)
    dek = keys.practice_keys(world.practice_a.pk).dek(key.version)
    assert dek not in bytes(key.wrapped_dek)
    assert (
        crypto.keyring().open(
            bytes(key.wrapped_dek),
            ("patients_practicekey", "dek", world.practice_a.pk, key.version),
        )
        == dek
    )
    assert key.encryptions >= 9


def test_flipped_byte_refuses_to_decrypt(world):
    patient = _reload(make_patient(world.practice_a))
    blob = bytearray(patient.last_name_sealed)
    blob[-5] ^= 0x01
    patient.last_name_sealed = bytes(blob)
    with pytest.raises(crypto.DecryptionError):
        patient.read("last_name")


def test_truncated_ciphertext_refuses_to_decrypt(world):
    patient = _reload(make_patient(world.practice_a))
    patient.last_name_sealed = bytes(patient.last_name_sealed)[:20]
    with pytest.raises(crypto.DecryptionError):
        patient.read("last_name")


def test_ciphertext_swapped_between_rows_is_refused(world):
    one = _reload(make_patient(world.practice_a, last_name="Martin"))
    two = _reload(make_patient(world.practice_a, last_name="Bernard", phone="0700000000"))
    one.last_name_sealed = bytes(two.last_name_sealed)
    with pytest.raises(crypto.DecryptionError):
        one.read("last_name")


def test_ciphertext_swapped_between_columns_is_refused(world):
    patient = _reload(make_patient(world.practice_a))
    patient.first_names_sealed = bytes(patient.last_name_sealed)
    with pytest.raises(crypto.DecryptionError):
        patient.read("first_names")


def test_ciphertext_swapped_between_practices_is_refused(world):
    mine = _reload(make_patient(world.practice_a, last_name="Martin"))
    theirs = _reload(make_patient(world.practice_b, last_name="Bernard"))
    mine.last_name_sealed = bytes(theirs.last_name_sealed)
    with pytest.raises(crypto.DecryptionError):
        mine.read("last_name")
    # Same row id, moved to the other practice: still refused.
    moved = _reload(make_patient(world.practice_a))
    moved.practice_id = world.practice_b.pk
    with pytest.raises(crypto.DecryptionError):
        moved.read("last_name")


def test_unknown_key_version_is_refused(world):
    patient = _reload(make_patient(world.practice_a))
    blob = bytearray(patient.last_name_sealed)
    blob[1:5] = (99).to_bytes(4, "big")
    patient.last_name_sealed = bytes(blob)
    with pytest.raises(crypto.DecryptionError):
        patient.read("last_name")


def test_raw_columns_hold_no_plaintext(world):
    patient = make_patient(
        world.practice_a, last_name="Zyglowska", first_names="Apolline", email="zyg@example.org"
    )
    add_note(patient, world.users["practitioner_a"], text="Allergie pénicilline")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM patients_patient")
        patient_rows = repr(cursor.fetchall()).lower()
        cursor.execute("SELECT * FROM patients_clinicalnote")
        note_rows = repr(cursor.fetchall()).lower()
        cursor.execute("SELECT encode(last_name_sealed, 'escape') FROM patients_patient")
        escaped = repr(cursor.fetchall()).lower()
    for secret in ("zyglowska", "apolline", "zyg@example.org", "1984-07-14", "612345678"):
        assert secret not in patient_rows
        assert secret not in escaped
    assert "pénicilline" not in note_rows and "penicilline" not in note_rows


def test_audit_details_hold_no_health_data(world):
    patient = make_patient(world.practice_a, last_name="Zyglowska", first_names="Apolline")
    add_note(patient, world.users["practitioner_a"], text="Allergie pénicilline")
    text = repr(list(AuditEvent.objects.values_list("detail", "object_id"))).lower()
    for secret in ("zyglowska", "apolline", "pénicilline", "1984", "0612345678", "+33612345678"):
        assert secret not in text


def test_note_round_trip_and_binding(world):
    patient = make_patient(world.practice_a)
    note = add_note(patient, world.users["practitioner_a"], text="Allergie pénicilline")
    with practice_scope(world.practice_a):
        other = add_note(patient, world.users["practitioner_a"], text="Autre")
        assert note.read("text") == "Allergie pénicilline"
        note.text_sealed = bytes(other.text_sealed)
        with pytest.raises(crypto.DecryptionError):
            note.read("text")
