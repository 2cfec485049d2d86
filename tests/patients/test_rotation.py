"""DEK rotation, KEK re-wrap and crypto-shredding."""

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.scoping import practice_scope
from audit.models import AuditEvent
from patients import keys, rotation, selectors, services
from patients.models import BreakGlassGrant, ClinicalNote, Patient, PracticeKey
from patients.sealed import sealed_models
from secretariat import crypto
from tests.factories import as_actor
from tests.patients.helpers import add_note, make_patient
from tests.scoping import every_practice

pytestmark = pytest.mark.django_db

NAMES = ["Abel", "Bidault", "Caron", "Dumas", "Esnault"]


def _populate(world, count=5):
    doctor = world.users["practitioner_a"]
    patients = [
        make_patient(world.practice_a, last_name=name, phone=f"061234560{i}")
        for i, name in enumerate(NAMES[:count])
    ]
    for patient in patients:
        add_note(patient, doctor, f"Note {patient.pk}")
    with practice_scope(world.practice_a):
        services.break_glass_open(
            patient=patients[0], reason="Urgence vitale", actor=as_actor(doctor, "practitioner")
        )
    make_patient(world.practice_b, last_name="Autre")
    return patients


def _ciphertexts():
    with every_practice():
        return {
            (model.__name__, row.pk, name): bytes(getattr(row, f"{name}_sealed"))
            for model in sealed_models()
            for row in model.objects.all()
            for name in model.SEALED
        }


def _all_readable(practice):
    with practice_scope(practice):
        for model in sealed_models():
            for row in model.objects.all():
                for name in model.SEALED:
                    row.read(name)


def test_rotation_reencrypts_every_row_and_retires_the_old_key(world):
    _populate(world)
    before = _ciphertexts()
    report = rotation.rotate_practice_key(
        practice=world.practice_a, batch_size=2, retire_grace=timedelta(0)
    )
    assert report.started and report.to_version == 2
    assert report.rows == 5 + 5 + 1 and report.batches == 3
    assert report.retired == [1]
    keys.forget()
    after = _ciphertexts()
    for key, blob in before.items():
        if key[1] in {row for row in _practice_rows(world.practice_b)}:
            assert after[key] == blob  # the other practice is untouched
        else:
            assert after[key] != blob, key
            assert crypto.sealed_key_id(after[key]) == 2
    with practice_scope(world.practice_a):
        old = PracticeKey.objects.get(practice=world.practice_a, version=1)
    assert old.destroyed_at is not None and bytes(old.wrapped_dek) == b""
    _all_readable(world.practice_a)
    _all_readable(world.practice_b)
    with practice_scope(world.practice_a):
        assert selectors.patient_search(world.practice_a, "Dumas").patients
        assert selectors.patient_search(world.practice_a, "06 12 34 56 03").patients
    event = AuditEvent.objects.filter(action="key_operation", practice=world.practice_a).latest(
        "id"
    )
    assert event.detail["operation"] == "rotate" and event.detail["rows"] == 11


def _practice_rows(practice):
    with every_practice():
        for model in sealed_models():
            yield from model.objects.filter(practice=practice).values_list("pk", flat=True)


def test_rotation_resumes_instead_of_starting_again(world):
    _populate(world)
    keys.practice_key_create(practice_id=world.practice_a.pk)
    assert rotation.rotation_batch(world.practice_a.pk, batch_size=1) == 3  # one per model
    report = rotation.rotate_practice_key(practice=world.practice_a, retire_grace=timedelta(0))
    assert not report.started and report.to_version == 2
    assert report.rows == 11 - 3
    with every_practice():
        assert PracticeKey.objects.filter(practice=world.practice_a).count() == 2
    _all_readable(world.practice_a)


def test_rotation_keeps_old_key_during_grace_then_retires_on_rerun(world):
    _populate(world, count=1)
    report = rotation.rotate_practice_key(practice=world.practice_a)
    assert report.pending_retirement == [1] and not report.retired
    # Rows written meanwhile by a process with a stale key are moved on rerun.
    report = rotation.rotate_practice_key(practice=world.practice_a, retire_grace=timedelta(0))
    assert not report.started and report.retired == [1]
    keys.forget()
    _all_readable(world.practice_a)


def test_rotate_command_and_async_task(world):
    from secretariat.celery import app

    _populate(world, count=2)
    out = StringIO()
    call_command("rotate_practice_key", "--practice", "cabinet-a", stdout=out)
    assert "v2" in out.getvalue()
    app.conf.task_always_eager = True
    try:
        call_command("rotate_practice_key", "--practice", "cabinet-a", "--async", stdout=out)
    finally:
        app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER
    keys.forget()
    _all_readable(world.practice_a)
    with pytest.raises(CommandError):
        call_command("rotate_practice_key", "--practice", "nope")


def test_task_takes_only_an_id(world):
    from patients.tasks import rotate_practice_key_task

    _populate(world, count=1)
    result = rotate_practice_key_task(world.practice_a.pk)
    assert result == {"practice_id": world.practice_a.pk, "version": 2, "rows": 3}


def test_rewrap_moves_every_key_to_the_new_kek(world, settings):
    _populate(world, count=2)
    old_value = settings.SECRETARIAT_KEYRING
    settings.SECRETARIAT_KEYRING = f"{old_value},{crypto.new_keyring_value(version=2)}"
    settings.SECRETARIAT_KEYRING_CURRENT = 2
    crypto.keyring.cache_clear()
    try:
        out = StringIO()
        call_command("rewrap_keys", stdout=out)
        call_command("rewrap_keys", stdout=out)  # idempotent
        with every_practice():
            for key in PracticeKey.objects.filter(destroyed_at=None):
                assert crypto.sealed_key_id(bytes(key.wrapped_dek)) == 2
                assert crypto.sealed_key_id(bytes(key.wrapped_index_key)) == 2
        # The old KEK leaves the keyring: everything still opens.
        settings.SECRETARIAT_KEYRING = settings.SECRETARIAT_KEYRING.split(",")[1]
        crypto.keyring.cache_clear()
        keys.forget()
        _all_readable(world.practice_a)
        _all_readable(world.practice_b)
        operations = AuditEvent.objects.filter(action="key_operation").values_list(
            "detail", flat=True
        )
        assert any(d.get("operation") == "rewrap" and d.get("keys") for d in operations)
    finally:
        settings.SECRETARIAT_KEYRING = old_value
        crypto.keyring.cache_clear()


def test_wrong_kek_refuses_to_unwrap(world, settings):
    make_patient(world.practice_a)
    settings.SECRETARIAT_KEYRING = crypto.new_keyring_value(version=1)
    crypto.keyring.cache_clear()
    keys.forget()
    try:
        with pytest.raises(crypto.DecryptionError):
            keys.practice_keys(world.practice_a.pk)
    finally:
        crypto.keyring.cache_clear()


def test_shred_makes_data_unavailable_with_a_clear_page(world):
    patients = _populate(world, count=2)
    with pytest.raises(CommandError):
        call_command("shred_practice_key", "--practice", "cabinet-a", "--confirm", "cabinet-b")
    call_command(
        "shred_practice_key",
        "--practice",
        "cabinet-a",
        "--confirm",
        "cabinet-a",
        "--without-handover",
        stdout=StringIO(),
    )
    with practice_scope(world.practice_a):
        patient = Patient.objects.get(pk=patients[0].pk)
        with pytest.raises(keys.KeyUnavailable):
            patient.read("last_name")
    client = world.client("practitioner_a")
    for url in (
        reverse("patients:detail", args=["cabinet-a", patient.pk]),
        reverse("patients:export_json", args=["cabinet-a", patient.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 410
        assert "Données indisponibles" in response.content.decode()
    response = client.post(reverse("patients:search", args=["cabinet-a"]), {"q": "Bidault"})
    assert response.status_code == 410
    response = client.post(
        reverse("patients:create", args=["cabinet-a"]),
        {"last_name": "Neuf", "first_names": "Jean", "birth_date": "01/01/2000"},
    )
    assert response.status_code == 410
    with every_practice():
        assert PracticeKey.objects.filter(practice=world.practice_a, destroyed_at=None).count() == 0
        assert ClinicalNote.objects.filter(practice=world.practice_a).count() == 2
        assert BreakGlassGrant.objects.filter(practice=world.practice_a).count() == 1
    _all_readable(world.practice_b)
    event = AuditEvent.objects.filter(action="key_operation", practice=world.practice_a).latest(
        "id"
    )
    assert event.detail == {
        "operation": "shred",
        "versions": [1],
        "sealed_models": ["patients.breakglassgrant", "patients.clinicalnote", "patients.patient"],
        "sealed_rows": 2 + 2 + 1,
        "without_handover": True,
    }
