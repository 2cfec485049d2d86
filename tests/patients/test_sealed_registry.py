"""Issue 12 defect 1: one registry of sealed models, found from the models, and
every consumer (rotation, crypto-shredding, exports, the restore drill's check)
covering every sealed model of it."""

import html
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models
from django.urls import reverse
from django.utils import timezone

from accounts.scoping import practice_scope
from appointments.services.call_messages import call_message_leave
from audit.models import AuditEvent
from console.services import message_reply
from patients import keys, rotation, services
from patients.handover import read_documents
from patients.models import PracticeKey, SealedModel
from patients.sealed import patient_sealed_models, sealed_fields, sealed_models
from tests.appointments.helpers import booked, booking_world
from tests.console.helpers import phone_line, ring
from tests.factories import as_actor
from tests.patients.helpers import add_note
from tests.scoping import every_practice

pytestmark = pytest.mark.django_db

NOTE = "Note : asthme sévère"
GRANT = "Urgence : malaise en salle d'attente"
REASON = "Douleurs thoraciques depuis hier"
MESSAGE = "Rappeler pour les résultats de prise de sang"
ORPHAN = "Appel sans dossier : rappeler le laboratoire"
REPLY = "Réponse : résultats normaux"


def _concrete_subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        # Models a test defines for itself (tests/compliance/test_register.py)
        # stay in Python's class tree after the test: only the application's count.
        if sub.__module__.startswith("tests."):
            continue
        if not sub._meta.abstract and not sub._meta.proxy:
            found.add(sub)
        found |= _concrete_subclasses(sub)
    return found


def test_registry_holds_every_concrete_sealed_model():
    # From Python's class tree, independently of apps.get_models().
    assert set(sealed_models()) == _concrete_subclasses(SealedModel)
    assert {"appointments.appointment", "appointments.callmessage"} <= set(sealed_fields())


def test_every_sealed_column_belongs_to_a_registered_sealed_model():
    """A ciphertext column outside SealedModel (or missing from SEALED) would be
    left behind by rotation: every *_sealed field is declared."""
    for model in apps.get_models():
        columns = {
            field.name
            for field in model._meta.get_fields()
            if isinstance(field, models.BinaryField) and field.name.endswith("_sealed")
        }
        if not columns:
            continue
        assert model in sealed_models(), model
        assert columns == {f"{name}_sealed" for name in model.SEALED}, model


def _one_row_of_every_sealed_model(world) -> dict[str, list[str]]:
    """Practice A with one row of every sealed model; {model label: plaintexts}.
    A new sealed model fails here until a row of it is added."""
    setup = booking_world(world)
    doctor, tele = world.users["practitioner_a"], world.users["telesecretary_a"]
    patient = setup.patient
    add_note(patient, doctor, NOTE)
    booked(world, reason=REASON)
    with practice_scope(world.practice_a):
        services.break_glass_open(
            patient=patient, reason=GRANT, actor=as_actor(doctor, "practitioner")
        )
        for text, about in ((MESSAGE, patient), (ORPHAN, None)):
            message = call_message_leave(
                actor=as_actor(tele, "telesecretary"),
                practice=world.practice_a,
                practitioner=doctor,
                text=text,
                patient=about,
            )
            if about is not None:
                message_reply(message=message, text=REPLY, actor=as_actor(doctor, "practitioner"))
    ring(phone_line(world.practice_a), "06 12 34 56 78", "tele_a")
    texts = {
        "console.call": ["+33612345678"],
        "console.messagereply": [REPLY],
        "patients.patient": ["Lefèvre", "284076938212345"],
        "patients.clinicalnote": [NOTE],
        "patients.breakglassgrant": [GRANT],
        "appointments.appointment": [REASON],
        "appointments.callmessage": [MESSAGE, ORPHAN],
    }
    assert set(texts) == set(sealed_fields()), "add a row of the new sealed model here"
    return texts


def _all_rows_readable(practice) -> int:
    count = 0
    with practice_scope(practice):
        for model in sealed_models():
            for row in model.objects.filter(practice=practice):
                for name in model.SEALED:
                    row.read(name)
                count += 1
    return count


def test_rotation_twice_keeps_every_sealed_row_readable_and_pages_up(world):
    _one_row_of_every_sealed_model(world)
    appointment = booked(world, hour=11, reason="Contrôle tension")
    for _ in range(2):
        report = rotation.rotate_practice_key(practice=world.practice_a, retire_grace=timedelta(0))
        assert report.retired and not report.refused
    keys.forget()
    with practice_scope(world.practice_a):
        assert [k.version for k in PracticeKey.objects.filter(destroyed_at=None)] == [3]
        for model in sealed_models():
            assert not model.objects.filter(practice=world.practice_a).exclude(key_version=3)
    assert _all_rows_readable(world.practice_a) == 9
    slug = world.practice_a.slug
    detail = world.client("telesecretary_a").get(
        reverse("appointments:detail", args=[slug, appointment.pk])
    )
    assert detail.status_code == 200
    assert "Contrôle tension" in detail.content.decode()
    inbox = world.client("practitioner_a").get(reverse("appointments:inbox", args=[slug]))
    assert inbox.status_code == 200
    assert MESSAGE in inbox.content.decode()


def test_retirement_refused_while_a_row_still_uses_the_old_version(world):
    _one_row_of_every_sealed_model(world)
    appointment = booked(world, hour=11)
    with practice_scope(world.practice_a):
        old_blob = bytes(appointment.reason_sealed)
    report = rotation.rotate_practice_key(practice=world.practice_a)  # grace: v1 kept
    assert report.pending_retirement == [1] and not report.retired
    # Planted: a process with v1 still in its cache writes the row back on v1.
    with practice_scope(world.practice_a):
        type(appointment).objects.filter(pk=appointment.pk).update(
            reason_sealed=old_blob, key_version=1
        )
        with pytest.raises(rotation.KeyVersionInUse) as refusal:
            rotation.retire_key_versions(practice_id=world.practice_a.pk, versions=[1])
        assert refusal.value.rows == {"appointments.appointment": 1}
        assert PracticeKey.objects.get(version=1).destroyed_at is None
    keys.forget()
    assert _all_rows_readable(world.practice_a) == 9
    # Run again, the rotation moves the row first, then destroys v1.
    report = rotation.rotate_practice_key(practice=world.practice_a, retire_grace=timedelta(0))
    assert report.rows == 1 and report.retired == [1]
    keys.forget()
    assert _all_rows_readable(world.practice_a) == 9


def test_patient_export_holds_every_sealed_row_of_the_patient(world):
    texts = _one_row_of_every_sealed_model(world)
    patient = booking_world(world).patient
    linked = {model._meta.label_lower for model, _ in patient_sealed_models()}
    # A call names no patient (its caller is a number, not a record).
    texts.pop("console.call")
    assert linked == set(texts) - {"patients.patient"}
    client = world.client("practitioner_a")
    for name in ("export_json", "export_html"):
        response = client.get(reverse(f"patients:{name}", args=["cabinet-a", patient.pk]))
        assert response.status_code == 200
        body = response.content.decode()
        if name == "export_json":
            body = json.dumps(json.loads(body), ensure_ascii=False)
        else:
            body = html.unescape(body)
        for label, values in texts.items():
            for value in values:
                if value != ORPHAN:
                    assert value in body, (name, label)
        assert ORPHAN not in body


def test_practice_export_holds_every_sealed_row(world, tmp_path):
    texts = _one_row_of_every_sealed_model(world)
    output = tmp_path / "cabinet-a"
    phrase = tmp_path / "phrase.txt"
    phrase.write_text("phrase-secrète-du-cabinet\n")
    call_command(
        "export_practice",
        "--practice",
        "cabinet-a",
        "--output",
        output,
        "--passphrase-file",
        phrase,
        stdout=StringIO(),
    )
    records = read_documents(output, "phrase-secrète-du-cabinet")
    body = json.dumps(list(records), ensure_ascii=False)
    for label, values in texts.items():
        for value in values:
            assert value in body, label


def test_shredding_names_every_sealed_model_it_made_unreadable(world):
    texts = _one_row_of_every_sealed_model(world)
    # The hand-over is not this test's subject (tests/onboarding/test_shred_handover.py).
    rotation.shred_practice_key(practice=world.practice_a, without_handover=True)
    event = AuditEvent.objects.filter(action="key_operation", practice=world.practice_a).latest(
        "id"
    )
    assert event.detail["sealed_models"] == sorted(texts)
    assert event.detail["sealed_rows"] == 8


def test_drill_check_opens_every_sealed_model_and_finds_a_lost_key(world):
    texts = _one_row_of_every_sealed_model(world)
    out = StringIO()
    call_command("drill_check", stdout=out)
    found = json.loads(out.getvalue().strip().splitlines()[-1])
    assert set(found["sealed_checked"]) == set(texts)
    assert all(found["sealed_checked"][label] >= 1 for label in texts)
    assert found["sealed_failures"] == []
    # Planted: the defect-1 outcome, a row left on a version destroyed anyway.
    appointment = booked(world, hour=11)
    with practice_scope(world.practice_a):
        old_blob = bytes(appointment.reason_sealed)
    rotation.rotate_practice_key(practice=world.practice_a)  # grace: v1 kept
    with every_practice():
        type(appointment).objects.filter(pk=appointment.pk).update(
            reason_sealed=old_blob, key_version=1
        )
        PracticeKey.objects.filter(practice=world.practice_a, version=1).update(
            wrapped_dek=b"", wrapped_index_key=b"", destroyed_at=timezone.now()
        )
    keys.forget()
    out = StringIO()
    call_command("drill_check", stdout=out)
    found = json.loads(out.getvalue().strip().splitlines()[-1])
    assert found["sealed_failures"] == [f"appointments.appointment:{appointment.pk}"]
