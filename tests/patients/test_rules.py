"""patients/rules.py: who may read a patient's clinical notes, and the access
selectors that apply the rule and record the read in one call."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.scoping import practice_scope
from accounts.selectors import practice_access
from audit.models import AuditEvent
from patients import selectors, services
from patients.rules import NotesAccess, notes_access
from tests.factories import UserFactory, as_actor, grant
from tests.patients.helpers import add_note, make_patient

pytestmark = pytest.mark.django_db


def _rule(world, user, patient) -> NotesAccess:
    with practice_scope(world.practice_a):
        access = practice_access(user, world.practice_a.slug)
        return notes_access(user=user, access=access, patient=patient)


def _restrict(world, patient, allowed):
    with practice_scope(world.practice_a):
        services.patient_set_restricted(
            actor=as_actor(), patient=patient, restricted=True, practitioners=list(allowed)
        )


def test_notes_are_denied_to_a_role_without_clinical_access(world):
    patient = make_patient(world.practice_a)
    assert _rule(world, world.users["telesecretary_a"], patient) == NotesAccess.DENIED


def test_notes_are_denied_without_a_role_in_the_practice(world):
    patient = make_patient(world.practice_a)
    with practice_scope(world.practice_a):
        rule = notes_access(user=world.users["practitioner_b"], access=None, patient=patient)
    assert rule == NotesAccess.DENIED


def test_a_restricted_record_asks_other_practitioners_for_break_glass(world):
    patient = make_patient(world.practice_a)
    doctor = world.users["practitioner_a"]
    other = grant(UserFactory(username="dr_other"), "practitioner", world.practice_a)
    _restrict(world, patient, allowed=[doctor])
    assert _rule(world, doctor, patient) == NotesAccess.ALLOWED
    assert _rule(world, other, patient) == NotesAccess.BREAK_GLASS
    with practice_scope(world.practice_a):
        services.break_glass_open(patient=patient, reason="Urgence", actor=as_actor(other))
    assert _rule(world, other, patient) == NotesAccess.ALLOWED


def test_the_card_records_how_many_notes_it_showed(world):
    patient = make_patient(world.practice_a)
    doctor = world.users["practitioner_a"]
    add_note(patient, doctor, "Allergie à la pénicilline")
    with practice_scope(world.practice_a):
        access = practice_access(doctor, world.practice_a.slug)
        card = selectors.access_patient_card(
            actor=as_actor(doctor), access=access, patient_id=patient.pk
        )
    assert (card.notes_access, len(card.notes)) == (NotesAccess.ALLOWED, 1)
    event = AuditEvent.objects.filter(action="view", object_id=str(patient.pk)).latest("id")
    assert event.detail == {"notes": 1}


def test_another_practices_patient_is_a_404_and_records_nothing(world):
    patient = make_patient(world.practice_b)
    before = AuditEvent.objects.count()
    with practice_scope(world.practice_a), pytest.raises(Http404):
        selectors.access_patient(
            actor=as_actor(world.users["telesecretary_a"]),
            practice=world.practice_a,
            patient_id=patient.pk,
        )
    assert AuditEvent.objects.count() == before


def test_a_refused_export_is_recorded_as_refused_and_never_as_an_export(world):
    patient = make_patient(world.practice_a)
    other = grant(UserFactory(username="dr_other"), "practitioner", world.practice_a)
    _restrict(world, patient, allowed=[world.users["practitioner_a"]])
    with practice_scope(world.practice_a), pytest.raises(PermissionDenied):
        access = practice_access(other, world.practice_a.slug)
        selectors.access_patient_export(
            actor=as_actor(other), access=access, patient_id=patient.pk, fmt="json"
        )
    exports = AuditEvent.objects.filter(action="export", object_id=str(patient.pk))
    assert [(e.outcome, e.detail) for e in exports] == [
        ("denied", {"format": "json", "notes_access": "break_glass"})
    ]
