"""The patient's file (GDPR art. 15 and 20) is complete: every model that
references a patient, directly or through an appointment, found from the
models, has its rows in the export; nothing of another patient is in it; the
access trail reads in words."""

import json
from pathlib import Path

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from accounts.scoping import practice_scope
from appointments.models import Appointment, Reminder
from audit.models import AuditEvent
from compliance.models import BreachIncident, PatientNotification
from patients import portability
from patients.models import Patient
from tests.tenancy.helpers import rows_of_every_kind

pytestmark = pytest.mark.django_db


def patient_references() -> list[tuple[type, str]]:
    """(model, lookup to the patient) for every model with a foreign key to
    Patient, or to Appointment (the patient's through it)."""
    found = []
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if not (field.is_relation and field.concrete and field.many_to_one):
                continue
            if field.related_model is Patient:
                found.append((model, field.name))
            elif field.related_model is Appointment:
                found.append((model, f"{field.name}__patient"))
    return found


def _breach_notice(world, patient: Patient) -> None:
    incident = BreachIncident.objects.create(
        detected_at=timezone.now(),
        nature="Ordinateur portable volé",
        data_categories="identité",
        people_categories="patients",
        likely_consequences="Hameçonnage possible",
        measures_taken="Mots de passe changés",
        created_by=world.users["compliance_officer"],
    )
    incident.practices.set([patient.practice])
    with practice_scope(patient.practice):
        PatientNotification.objects.create(
            practice=patient.practice, incident=incident, patient=patient
        )


def _with_one_row_of_every_kind(world) -> dict[str, Patient]:
    made = rows_of_every_kind(world)
    for letter in ("a", "b"):
        _breach_notice(world, made[letter])
    return made


def _ids(value) -> set[str]:
    """Every "id" in a part of the document, nested rows included."""
    found = set()
    if isinstance(value, dict):
        if "id" in value:
            found.add(str(value["id"]))
        for item in value.values():
            found |= _ids(item)
    elif isinstance(value, list):
        for item in value:
            found |= _ids(item)
    return found


def _export(world, patient: Patient) -> dict:
    client = world.client("practitioner_a")
    url = reverse("patients:export_json", kwargs={"practice": "cabinet-a", "patient": patient.pk})
    response = client.get(url)
    assert response.status_code == 200
    return json.loads(response.content)


def test_every_model_referencing_a_patient_is_covered_by_a_section():
    covered = {model for section in portability.sections() for model in section.models}
    references = patient_references()
    assert len({model for model, _lookup in references}) >= 10
    missing = [model._meta.label for model, _lookup in references if model not in covered]
    assert missing == [], f"no export section holds {missing}: register one (portability.py)"


def test_export_holds_every_row_of_every_model_referencing_the_patient(world):
    made = _with_one_row_of_every_kind(world)
    patient, other = made["a"], made["b"]
    document = _export(world, patient)
    for model, lookup in patient_references():
        with practice_scope(patient.practice):
            rows = {
                str(pk)
                for pk in model._default_manager.filter(**{lookup: patient}).values_list(
                    "pk", flat=True
                )
            }
        assert rows, f"the test built no {model._meta.label} row: add one to its builder"
        exported = set()
        for section in portability.sections():
            if model in section.models:
                exported |= _ids(document[section.key])
        assert rows <= exported, f"{model._meta.label} rows missing from the export"
    raw = json.dumps(document)
    for leak in ("Témoin b", "Note secrète b", "Motif secret b", "Rappeler b", str(other.pk)):
        assert leak not in raw


def test_export_says_who_accessed_in_words_and_where_reminders_went(world):
    made = _with_one_row_of_every_kind(world)
    patient = made["a"]
    with practice_scope(patient.practice):
        Reminder.objects.filter(appointment__patient=patient).update(
            destination="••••••••••78", sent_at=timezone.now(), status=Reminder.Status.SENT
        )
    document = _export(world, patient)
    assert document["schema"] == "secretariat.patient-export"
    assert document["schema_version"] == portability.SCHEMA_VERSION
    words = {access["what"] for access in document["accesses"]}
    assert "Praticien — export" in words
    assert all("_" not in what for what in words)
    reminder = document["reminders"][0]
    assert reminder["channel_label"] == "SMS"
    assert reminder["destination"] == "••••••••••78"
    assert reminder["status_label"] == "Envoyé"
    history = document["appointments"][0]["history"]
    assert history[0]["description"] == "Créé"


def test_readable_page_shows_every_section_in_french(world):
    made = _with_one_row_of_every_kind(world)
    patient = made["a"]
    client = world.client("practitioner_a")
    url = reverse("patients:export_html", kwargs={"practice": "cabinet-a", "patient": patient.pk})
    response = client.get(url)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    for section in portability.sections():
        assert f'id="export-{section.key}"' in html
    for text in ("Note secrète a", "Motif secret a", "Rappeler a", "Ordinateur portable volé"):
        assert text in html
    assert "Praticien — export" in html
    assert "Témoin b" not in html


def test_export_without_clinical_right_withholds_clinical_sections(world):
    made = _with_one_row_of_every_kind(world)
    patient = made["a"]
    with practice_scope(patient.practice):
        document = portability.patient_document(patient, clinical=False)
    clinical = {section.key for section in portability.sections() if section.clinical}
    assert clinical and set(document["withheld"]) == clinical
    assert "Note secrète a" not in json.dumps(document, default=str)


def test_schema_document_names_every_section_and_column():
    text = (Path(__file__).resolve().parents[2] / "docs" / "export.md").read_text()
    assert f"version {portability.SCHEMA_VERSION}" in text
    for section in portability.sections():
        assert f"`{section.key}`" in text
        for name, _label in section.columns:
            assert f"`{name}`" in text, f"{section.key}.{name} undocumented in docs/export.md"


def test_pdf_holds_the_same_tables_as_the_page(world):
    made = _with_one_row_of_every_kind(world)
    patient = made["a"]
    client = world.client("practitioner_a")
    url = reverse("patients:export_pdf", kwargs={"practice": "cabinet-a", "patient": patient.pk})
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    body = response.content
    assert body.startswith(b"%PDF-")
    for text in (b"Motif secret a", b"Rappeler a", b"Cabinet A"):
        assert text in body
    assert b"Motif secret b" not in body
    event = AuditEvent.objects.filter(action="export", object_id=str(patient.pk)).latest("id")
    assert event.detail == {"format": "pdf"}
