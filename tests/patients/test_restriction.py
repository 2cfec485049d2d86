"""Issue 12 defect 7: a break-glass grant opens a restricted record's notes for
a while; it never lets its holder lift the restriction or take it over. Only
the practitioners the restriction names change it, every attempt is audited
and alerts compliance."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.scoping import practice_scope
from audit.models import AuditEvent
from compliance.detectors import detect_suspicious_activity
from compliance.models import Alert
from patients import services
from patients.models import Patient, PatientUserObjectPermission
from tests.factories import UserFactory, as_actor, grant
from tests.patients.helpers import add_note, make_patient
from tests.personas import verified_client
from tests.scoping import refresh

pytestmark = pytest.mark.django_db

REFUSAL = "Seul un praticien désigné sur ce dossier restreint"


@pytest.fixture
def record(world):
    """Practice A's record restricted to practitioner_a; dr_urgence, another
    practitioner of A, holds a break-glass grant on it."""
    doctor = world.users["practitioner_a"]
    patient = make_patient(world.practice_a)
    add_note(patient, doctor, "Note réservée")
    other = grant(UserFactory(username="dr_urgence"), "practitioner", world.practice_a)
    with practice_scope(world.practice_a):
        services.patient_set_restricted(
            patient=patient,
            restricted=True,
            practitioners=[doctor],
            actor=as_actor(doctor, "practitioner", world.practice_a),
        )
        services.break_glass_open(
            patient=patient,
            reason="Malaise en salle d'attente",
            actor=as_actor(other, "practitioner", world.practice_a),
        )
    return patient, other


def _restrict_url(world, patient):
    return reverse("patients:restrict", args=[world.practice_a.slug, patient.pk])


def _granted(patient) -> set[str]:
    with practice_scope(patient.practice_id):
        return set(
            PatientUserObjectPermission.objects.filter(content_object=patient).values_list(
                "user__username", flat=True
            )
        )


def test_break_glass_holder_cannot_lift_the_restriction(world, record):
    patient, other = record
    client = verified_client(other)
    detail = client.get(reverse("patients:detail", args=[world.practice_a.slug, patient.pk]))
    assert "Note réservée" in detail.content.decode()  # the grant opens the notes...
    assert _restrict_url(world, patient) not in detail.content.decode()  # ...not the lock
    response = client.post(_restrict_url(world, patient), {"restricted": "0"})
    assert response.status_code == 403
    assert REFUSAL in response.content.decode()
    assert refresh(patient).restricted
    assert _granted(patient) == {"dr_a"}
    refused = AuditEvent.objects.filter(
        action="update", object_id=str(patient.pk), actor_id=other.pk
    ).get()
    assert refused.outcome == "denied"
    assert refused.detail == {"change": "restriction", "restricted": False}


def test_break_glass_holder_cannot_restrict_the_record_to_himself(world, record):
    patient, other = record
    with practice_scope(world.practice_a), pytest.raises(services.RestrictionRefused):
        services.patient_set_restricted(
            patient=Patient.objects.get(pk=patient.pk),
            restricted=True,
            practitioners=[other],
            actor=as_actor(other, "practitioner", world.practice_a),
        )
    assert _granted(patient) == {"dr_a"}


def test_named_practitioner_lifts_it_and_compliance_is_alerted(world, record):
    patient, other = record
    client = world.client("practitioner_a")
    detail = client.get(reverse("patients:detail", args=[world.practice_a.slug, patient.pk]))
    assert _restrict_url(world, patient) in detail.content.decode()
    assert client.post(_restrict_url(world, patient), {"restricted": "0"}).status_code == 302
    assert not refresh(patient).restricted and _granted(patient) == set()
    verified_client(other).post(_restrict_url(world, patient), {"restricted": "1"})
    assert _granted(patient) == {"dr_urgence"}  # open again: any practitioner may restrict
    detect_suspicious_activity(now=timezone.now() + timedelta(minutes=5))
    alerts = Alert.objects.filter(kind=Alert.Kind.RESTRICTION_CHANGE).order_by("id")
    assert [(a.detail["restricted"], a.detail["refused"]) for a in alerts] == [
        (True, False),  # the fixture's restriction
        (False, False),
        (True, False),
    ]
    assert all(a.detail["patient"] == str(patient.pk) for a in alerts)


def test_refused_attempt_alerts_compliance(world, record):
    patient, other = record
    verified_client(other).post(_restrict_url(world, patient), {"restricted": "0"})
    detect_suspicious_activity(now=timezone.now() + timedelta(minutes=5))
    refused = Alert.objects.get(kind=Alert.Kind.RESTRICTION_CHANGE, detail__refused=True)
    assert refused.subject == other and refused.severity == Alert.Severity.WARNING


def test_telesecretary_never_changes_a_restriction(world):
    patient = make_patient(world.practice_a)
    with practice_scope(world.practice_a), pytest.raises(services.RestrictionRefused):
        services.patient_set_restricted(
            patient=patient,
            restricted=True,
            practitioners=[world.users["telesecretary_a"]],
            actor=as_actor(world.users["telesecretary_a"], "telesecretary", world.practice_a),
        )
    assert not refresh(patient).restricted


def test_refused_export_is_audited_as_refused(world):
    """Issue 12 defect 9: the export event used to be written, as granted,
    before the restriction check answered 403."""
    patient = make_patient(world.practice_a)
    add_note(patient, world.users["practitioner_a"], "Note réservée")
    other = grant(UserFactory(username="dr_autre"), "practitioner", world.practice_a)
    with practice_scope(world.practice_a):
        services.patient_set_restricted(
            patient=patient,
            restricted=True,
            practitioners=[world.users["practitioner_a"]],
            actor=as_actor(world.users["practitioner_a"], "practitioner", world.practice_a),
        )
    client = verified_client(other)
    for name in ("export_json", "export_html"):
        url = reverse(f"patients:{name}", args=[world.practice_a.slug, patient.pk])
        response = client.get(url)
        assert response.status_code == 403
        assert "Note réservée" not in response.content.decode()
    exports = AuditEvent.objects.filter(action="export", object_id=str(patient.pk))
    assert [(e.outcome, e.detail["format"]) for e in exports.order_by("id")] == [
        ("denied", "json"),
        ("denied", "html"),
    ]
    allowed = world.client("practitioner_a").get(
        reverse("patients:export_json", args=[world.practice_a.slug, patient.pk])
    )
    assert allowed.status_code == 200
    assert exports.filter(outcome="allowed").count() == 1
