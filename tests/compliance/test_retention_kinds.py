"""Retention of patients, clinical notes, withdrawn consents and closed
waiting-list entries: each purged at its boundary, a patient with something
still to keep is kept, a purged patient leaves no row referencing it (found
from the models), the purge is audited and the dry run counts what it removes."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from accounts.scoping import practice_scope
from appointments.models import Appointment, CallMessage, WaitingListEntry
from audit.models import AuditEvent
from compliance import retention, services
from compliance.models import BreachIncident, DataKind, PatientNotification
from console.services import message_reply
from patients import services as patient_services
from patients.models import ClinicalNote, Consent, Patient
from tests.appointments.helpers import appointment, appointment_type
from tests.compliance.helpers import announced_long_ago
from tests.factories import as_actor
from tests.patients.helpers import add_note, make_patient
from tests.scoping import every_practice
from tests.tenancy.helpers import rows_of_every_kind

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
PATIENT_DAYS = retention.RULES[DataKind.INACTIVE_PATIENTS].default_days
NOTE_DAYS = retention.RULES[DataKind.CLINICAL_NOTES].default_days
CONSENT_DAYS = retention.RULES[DataKind.CONSENTS].default_days
WAITING_DAYS = retention.RULES[DataKind.WAITING_LIST].default_days


@pytest.fixture(autouse=True)
def _announced(world):
    announced_long_ago(world.practice_a, world.practice_b)


def _patient(world, created_days_ago: float, now, **identity) -> Patient:
    patient = make_patient(world.practice_a, **identity)
    with practice_scope(world.practice_a):
        Patient.objects.filter(pk=patient.pk).update(created_at=now - created_days_ago * DAY)
    return patient


def _appointment(world, patient: Patient, ended: timedelta, now) -> Appointment:
    """`ended` before now (negative: in the future)."""
    with practice_scope(world.practice_a):
        kind = appointment_type(world.practice_a)
        end = now - ended
        return appointment(
            world.practice_a,
            world.users["practitioner_a"],
            kind,
            end - timedelta(minutes=30),
            end,
            patient=patient,
        )


def _note(world, patient: Patient, days_ago: float, now) -> ClinicalNote:
    note = add_note(patient, world.users["practitioner_a"])
    with practice_scope(world.practice_a):
        ClinicalNote.objects.filter(pk=note.pk).update(created_at=now - days_ago * DAY)
    return note


def _exists(model, pk) -> bool:
    with every_practice():
        return model.objects.filter(pk=pk).exists()


def _purge(world, now) -> dict:
    """The dry run, then the purge at the same moment: they must agree."""
    report = retention.purge_report(world.practice_a, now)
    counts = retention.purge_practice(world.practice_a, now)
    assert counts == {str(kind): count for kind, count in report.items()}
    return counts


def test_inactive_patient_purged_a_day_after_its_last_appointment_period(world):
    now = timezone.now()
    gone = _patient(world, 4000, now, last_name="Ancien")
    kept = _patient(world, 4000, now, last_name="Récent")
    old_visit = _appointment(world, gone, (PATIENT_DAYS + 1) * DAY, now)
    recent_visit = _appointment(world, kept, (PATIENT_DAYS - 1) * DAY, now)
    counts = _purge(world, now)
    assert counts["appointments"] == 2  # both past the 365 days of the agenda
    assert counts["inactive_patients"] == 1
    assert not _exists(Patient, gone.pk) and not _exists(Appointment, old_visit.pk)
    assert _exists(Patient, kept.pk) and not _exists(Appointment, recent_visit.pk)
    # Its purged appointment still counts as its last activity, run after run,
    # until the period has passed since it.
    assert _purge(world, now + DAY)["inactive_patients"] == 0
    assert _purge(world, now + 2 * DAY)["inactive_patients"] == 1
    assert not _exists(Patient, kept.pk)


def test_patient_created_within_the_period_is_kept(world):
    now = timezone.now()
    fresh = _patient(world, PATIENT_DAYS - 1, now)
    old = _patient(world, PATIENT_DAYS + 1, now, last_name="Vieux")
    assert _purge(world, now)["inactive_patients"] == 1
    assert _exists(Patient, fresh.pk) and not _exists(Patient, old.pk)


def test_patient_with_a_future_appointment_recent_note_or_open_waiting_is_kept(world):
    now = timezone.now()
    future = _patient(world, 9000, now, last_name="Futur")
    _appointment(world, future, -30 * DAY, now)
    noted = _patient(world, 9000, now, last_name="Noté")
    _note(world, noted, 10, now)
    waiting = _patient(world, 9000, now, last_name="Attente")
    consenting = _patient(world, 9000, now, last_name="Consentant")
    with practice_scope(world.practice_a):
        kind = appointment_type(world.practice_a, name="Bilan")
        entry = WaitingListEntry.objects.create(
            practice=world.practice_a, patient=waiting, appointment_type=kind
        )
        WaitingListEntry.objects.filter(pk=entry.pk).update(created_at=now - 9000 * DAY)
        consent = patient_services.consent_record(
            patient=consenting,
            purpose=Consent.Purpose.SMS_REMINDERS,
            actor=as_actor(world.users["practitioner_a"]),
        )
        Consent.objects.filter(pk=consent.pk).update(given_at=now - 9000 * DAY)
    counts = _purge(world, now)
    assert counts["inactive_patients"] == 1
    assert _exists(Patient, future.pk) and _exists(Patient, noted.pk)
    assert _exists(Patient, waiting.pk) and _exists(WaitingListEntry, entry.pk)
    # A consent in force is no activity when given long ago: it goes with the patient.
    assert not _exists(Patient, consenting.pk) and not _exists(Consent, consent.pk)


def test_clinical_notes_purged_when_the_newest_note_is_past_the_period(world):
    now = timezone.now()
    followed = _patient(world, 9000, now, last_name="Suivi")
    _appointment(world, followed, -30 * DAY, now)  # keeps the patient itself
    old_record = _patient(world, 9000, now, last_name="Clos")
    _appointment(world, old_record, -31 * DAY, now)
    expired_notes = [_note(world, old_record, NOTE_DAYS + days, now) for days in (1, 400)]
    kept_notes = [
        _note(world, followed, NOTE_DAYS + 400, now),
        _note(world, followed, NOTE_DAYS - 1, now),
    ]
    counts = _purge(world, now)
    assert counts["clinical_notes"] == 2
    assert not any(_exists(ClinicalNote, note.pk) for note in expired_notes)
    # The record is kept whole while its newest note is within the period.
    assert all(_exists(ClinicalNote, note.pk) for note in kept_notes)
    assert _exists(Patient, old_record.pk)


def test_withdrawn_consent_kept_as_proof_then_purged_active_one_never(world):
    now = timezone.now()
    patient = _patient(world, 9000, now)
    _appointment(world, patient, -30 * DAY, now)
    doctor = as_actor(world.users["practitioner_a"])
    made = {}
    with practice_scope(world.practice_a):
        for purpose, withdrawn in (
            (Consent.Purpose.SMS_REMINDERS, CONSENT_DAYS + 1),
            (Consent.Purpose.EMAIL_REMINDERS, CONSENT_DAYS - 1),
            (Consent.Purpose.INFORMATION, None),
        ):
            consent = patient_services.consent_record(
                patient=patient, purpose=purpose, actor=doctor
            )
            Consent.objects.filter(pk=consent.pk).update(given_at=now - 9000 * DAY)
            if withdrawn is not None:
                Consent.objects.filter(pk=consent.pk).update(withdrawn_at=now - withdrawn * DAY)
            made[purpose] = consent.pk
    assert _purge(world, now)["consents"] == 1
    assert not _exists(Consent, made[Consent.Purpose.SMS_REMINDERS])
    assert _exists(Consent, made[Consent.Purpose.EMAIL_REMINDERS])
    assert _exists(Consent, made[Consent.Purpose.INFORMATION])


def test_closed_waiting_list_entries_purged_after_the_period_open_ones_kept(world):
    now = timezone.now()
    patient = _patient(world, 10, now)
    ids = {}
    with practice_scope(world.practice_a):
        for name, resolved in (
            ("old", WAITING_DAYS + 1),
            ("new", WAITING_DAYS - 1),
            ("open", None),
        ):
            kind = appointment_type(world.practice_a, name=name)
            entry = WaitingListEntry.objects.create(
                practice=world.practice_a, patient=patient, appointment_type=kind
            )
            WaitingListEntry.objects.filter(pk=entry.pk).update(
                created_at=now - 1000 * DAY,
                resolved_at=None if resolved is None else now - resolved * DAY,
            )
            ids[name] = entry.pk
    assert _purge(world, now)["waiting_list"] == 1
    assert not _exists(WaitingListEntry, ids["old"])
    assert _exists(WaitingListEntry, ids["new"]) and _exists(WaitingListEntry, ids["open"])


def test_call_message_with_a_reply_is_purged_with_it(world):
    now = timezone.now()
    patient = _patient(world, 10, now)
    with practice_scope(world.practice_a):
        message = CallMessage(
            practice=world.practice_a, practitioner=world.users["practitioner_a"], patient=patient
        )
        message.write({"text": "Rappeler"})
        message.save(force_insert=True)
        message_reply(message=message, text="Vu", actor=as_actor(world.users["practitioner_a"]))
        CallMessage.objects.filter(pk=message.pk).update(created_at=now - 100 * DAY)
    assert _purge(world, now)["call_messages"] == 1
    assert not _exists(CallMessage, message.pk)


# ---------------------------------------------------------------- completeness


def references_to_patient() -> dict[type, str]:
    """Every model whose rows belong to a patient: a foreign key to Patient, or
    to a model that has one (recursively), found from apps.get_models(), with
    the lookup from it to the patient."""
    found: dict[type, str] = {}
    targets = {Patient: ""}
    while targets:
        target, path = targets.popitem()
        for model in apps.get_models(include_auto_created=True):
            for field in model._meta.concrete_fields:
                if field.is_relation and field.related_model is target:
                    lookup = f"{field.name}__{path}" if path else field.name
                    if model not in found:
                        found[model] = lookup
                        targets[model] = lookup
    return found


def test_every_model_referencing_a_patient_is_in_the_purge_of_a_patient():
    planned = set()
    pending = [Patient]
    while pending:
        for model, _field in retention.referencing(pending.pop()):
            if model not in planned:
                planned.add(model)
                pending.append(model)
    references = references_to_patient()
    assert len(references) >= 10
    missing = sorted(model._meta.label for model in references if model not in planned)
    assert missing == [], f"a purged patient would leave {missing} behind"


def test_purged_patient_leaves_no_row_that_references_it(world):
    made = rows_of_every_kind(world)
    for letter in ("a", "b"):
        incident = BreachIncident.objects.create(
            detected_at=timezone.now(),
            nature="Ordinateur volé",
            data_categories="identité",
            people_categories="patients",
            likely_consequences="Hameçonnage",
            measures_taken="Mots de passe changés",
            created_by=world.users["compliance_officer"],
        )
        patient = made[letter]
        with practice_scope(patient.practice):
            PatientNotification.objects.create(
                practice=patient.practice, incident=incident, patient=patient
            )
    patient, other = made["a"], made["b"]
    with practice_scope(world.practice_a):
        WaitingListEntry.objects.filter(patient=patient).update(resolved_at=timezone.now())
    before = {}
    for model, lookup in references_to_patient().items():
        with every_practice():
            rows = model._base_manager.filter(**{lookup: patient})
            before[model] = model._base_manager.filter(**{lookup: other}).count()
            assert rows.exists(), f"the test built no {model._meta.label} row: add one"
    events = AuditEvent.objects.count()
    # Forty years on, everything of practice A has expired.
    counts = retention.purge_practice(world.practice_a, timezone.now() + 40 * 365 * DAY)
    assert counts["inactive_patients"] == 1
    for model, lookup in references_to_patient().items():
        with every_practice():
            assert not model._base_manager.filter(**{lookup: patient}).exists(), model
            assert model._base_manager.filter(**{lookup: other}).count() == before[model]
    assert not _exists(Patient, patient.pk) and _exists(Patient, other.pk)
    # The trail stays (append-only): only purge events were added.
    assert AuditEvent.objects.count() > events
    assert AuditEvent.objects.filter(object_id=str(patient.pk)).exists()


def test_patient_purge_is_audited_per_batch_without_health_data(world):
    now = timezone.now()
    patients = [_patient(world, PATIENT_DAYS + 10, now, last_name=f"Nom{i}") for i in range(3)]
    counts = retention.purge_practice(world.practice_a, now, batch=2)
    assert counts["inactive_patients"] == 3
    events = list(
        AuditEvent.objects.filter(action="purge", object_type="inactive_patients").order_by("id")
    )
    assert [event.detail["count"] for event in events] == [2, 1]
    assert all(event.practice_id == world.practice_a.pk for event in events)
    assert set(events[0].detail) == {"count", "first_id", "last_id", "days", "rows_along"}
    assert events[0].detail["days"] == PATIENT_DAYS
    ids = {str(patient.pk) for patient in patients}
    assert {events[0].detail["first_id"], events[1].detail["last_id"]} <= ids
    assert "Nom" not in str([event.detail for event in events])


def test_purge_follows_the_practice_policy_for_patients_after_its_notice(world):
    now = timezone.now()
    patient = _patient(world, 400, now)
    assert _purge(world, now)["inactive_patients"] == 0
    services.retention_policy_set(
        practice=world.practice_a,
        kind=DataKind.INACTIVE_PATIENTS,
        days=365,
        actor=as_actor(world.users["manager_a"]),
    )
    # Shorter: not applied before it has been announced, and the notice has run.
    assert _purge(world, now)["inactive_patients"] == 0
    retention.purge_announce(practice=world.practice_a, now=now)
    assert _purge(world, now + (retention.NOTICE_DAYS - 1) * DAY)["inactive_patients"] == 0
    assert _purge(world, now + retention.NOTICE_DAYS * DAY)["inactive_patients"] == 1
    assert not _exists(Patient, patient.pk)
