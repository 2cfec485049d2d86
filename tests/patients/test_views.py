"""Pages: search, card, minimisation by role, duplicates, notes, consents,
export, restricted records and break-glass."""

import json

import pytest
from django.urls import reverse

from accounts.scoping import practice_scope
from audit.models import AuditEvent
from patients import services
from patients.models import BreakGlassGrant, Consent, Patient
from tests.factories import as_actor
from tests.patients.helpers import add_note, make_patient
from tests.scoping import refresh

pytestmark = pytest.mark.django_db

NOTE = "Asthme sévère, sous corticoïdes"


def _url(name, patient=None, **kwargs):
    slug = kwargs.pop("practice", None) or "cabinet-a"
    if patient is not None:
        kwargs["patient"] = patient.pk
    return reverse(name, kwargs={"practice": slug, **kwargs})


def test_search_post_shows_results_without_data_in_url(world):
    patient = make_patient(world.practice_a, last_name="Lefèvre")
    client = world.client("telesecretary_a")
    response = client.post(_url("patients:search"), {"q": "+33 6 12 34 56 78"})
    assert response.status_code == 200
    assert "Lefèvre" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.filter(action="search").latest("id")
    assert event.detail == {"kind": "phone", "results": 1, "patient_ids": [str(patient.pk)]}
    assert event.role == "telesecretary"


def test_card_shows_identity_to_telesecretary_but_never_notes(world):
    patient = make_patient(world.practice_a)
    add_note(patient, world.users["practitioner_a"], NOTE)
    response = world.client("telesecretary_a").get(_url("patients:detail", patient))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Lefèvre" in html and "06 12 34 56 78" in html
    assert NOTE not in html and "Asthme" not in html
    assert "clinical-notes" not in html
    assert "no-store" in response["Cache-Control"]
    # From the card straight to booking, the telesecretary's next step.
    assert reverse("appointments:book_type", args=["cabinet-a", patient.pk]) in html


def test_card_shows_notes_to_practitioner(world):
    patient = make_patient(world.practice_a)
    add_note(patient, world.users["practitioner_a"], NOTE)
    html = world.client("practitioner_a").get(_url("patients:detail", patient)).content.decode()
    assert NOTE in html


@pytest.mark.parametrize(
    "name", ["patients:note_add", "patients:export_html", "patients:export_json"]
)
def test_telesecretary_gets_403_on_clinical_urls(world, name):
    patient = make_patient(world.practice_a)
    add_note(patient, world.users["practitioner_a"], NOTE)
    client = world.client("telesecretary_a")
    assert client.get(_url(name, patient)).status_code == 403
    response = client.post(_url("patients:note_add", patient), {"text": "intrusion"})
    assert response.status_code == 403
    with practice_scope(world.practice_a):
        assert patient.notes.count() == 1


def test_create_warns_about_duplicate_then_creates_on_confirmation(world):
    make_patient(world.practice_a, last_name="Lefèvre", first_names="Élodie")
    client = world.client("telesecretary_a")
    data = {"last_name": "LEFEVRE", "first_names": "elodie", "birth_date": "14/07/1984"}
    response = client.post(_url("patients:create"), data)
    assert response.status_code == 200
    assert "Doublon possible" in response.content.decode()
    with practice_scope(world.practice_a):
        assert Patient.objects.count() == 1
    response = client.post(_url("patients:create"), {**data, "confirm_duplicate": "on"})
    assert response.status_code == 302
    with practice_scope(world.practice_a):
        assert Patient.objects.count() == 2


def test_create_warns_on_same_phone(world):
    make_patient(world.practice_a, phone="0612345678")
    response = world.client("telesecretary_a").post(
        _url("patients:create"),
        {
            "last_name": "Autre",
            "first_names": "Personne",
            "birth_date": "01/01/2000",
            "phone": "+33 6 12 34 56 78",
        },
    )
    assert "Doublon possible" in response.content.decode()


def test_duplicate_check_ignores_other_practice(world):
    make_patient(world.practice_b, last_name="Lefèvre", first_names="Élodie")
    response = world.client("telesecretary_ab").post(
        _url("patients:create"),
        {"last_name": "Lefèvre", "first_names": "Élodie", "birth_date": "14/07/1984"},
    )
    assert response.status_code == 302


def test_create_refuses_invalid_input_without_writing(world):
    client = world.client("telesecretary_a")
    response = client.post(
        _url("patients:create"),
        {"last_name": "X", "first_names": "Y", "birth_date": "31/02/1990", "phone": "abc"},
    )
    assert response.status_code == 400
    with practice_scope(world.practice_a):
        assert Patient.objects.count() == 0


def test_edit_updates_identity_and_indexes(world):
    patient = make_patient(world.practice_a)
    client = world.client("telesecretary_a")
    response = client.post(
        _url("patients:edit", patient),
        {
            "last_name": "Moreau",
            "first_names": "Élodie",
            "birth_date": "14/07/1984",
            "phone": "0611111111",
        },
    )
    assert response.status_code == 302
    found = client.post(_url("patients:search"), {"q": "moreau"}).content.decode()
    assert str(patient.pk) in found


def test_mass_assignment_of_practice_or_flag_is_ignored(world):
    client = world.client("telesecretary_ab")
    client.post(
        _url("patients:create"),
        {
            "last_name": "Nouvel",
            "first_names": "Jeanne",
            "birth_date": "02/03/1990",
            "practice": world.practice_b.pk,
            "restricted": "on",
            "key_version": 7,
        },
    )
    with practice_scope(world.practice_a):
        patient = Patient.objects.get()
    assert patient.practice_id == world.practice_a.pk
    assert not patient.restricted and patient.key_version == 1


def test_practitioner_adds_note(world):
    patient = make_patient(world.practice_a)
    client = world.client("practitioner_a")
    response = client.post(_url("patients:note_add", patient), {"text": NOTE})
    assert response.status_code == 302
    assert NOTE in client.get(_url("patients:detail", patient)).content.decode()


def test_consent_record_and_withdraw(world):
    patient = make_patient(world.practice_a)
    client = world.client("telesecretary_a")
    client.post(_url("patients:consent_record", patient), {"purpose": "sms_reminders"})
    client.post(_url("patients:consent_record", patient), {"purpose": "sms_reminders"})
    with practice_scope(world.practice_a):
        consent = Consent.objects.get()
    assert consent.withdrawn_at is None
    withdraw = _url("patients:consent_withdraw", patient, consent=consent.pk)
    # The card links to a confirmation page rather than withdrawing at once.
    assert f'href="{withdraw}"' in client.get(_url("patients:detail", patient)).content.decode()
    page = client.get(withdraw)
    assert page.status_code == 200
    assert "ne recevra plus de rappel de rendez-vous par SMS" in page.content.decode()
    refresh(consent)
    assert consent.withdrawn_at is None
    # Posted without the confirmation: nothing changes, the page is shown again.
    refused = client.post(withdraw)
    assert refused.status_code == 400
    assert "Cochez la case pour confirmer le retrait" in refused.content.decode()
    refresh(consent)
    assert consent.withdrawn_at is None
    assert not AuditEvent.objects.filter(object_type="consent", action="update").exists()
    assert client.post(withdraw, {"confirm": "on"}).status_code == 302
    refresh(consent)
    assert consent.withdrawn_at is not None
    assert consent.withdrawn_by == world.users["telesecretary_a"]
    response = client.post(_url("patients:consent_record", patient), {"purpose": "bogus"})
    assert response.status_code == 302
    with practice_scope(world.practice_a):
        assert Consent.objects.count() == 1


def test_export_contains_everything_and_nothing_of_another_patient(world):
    patient = make_patient(world.practice_a)
    other = make_patient(
        world.practice_a,
        last_name="Zyglowska",
        first_names="Apolline",
        phone="0799999999",
        email="zyg@example.org",
    )
    practitioner = world.users["practitioner_a"]
    add_note(patient, practitioner, NOTE)
    add_note(other, practitioner, "Note de l'autre patient")
    with practice_scope(world.practice_a):
        services.consent_record(
            actor=as_actor(practitioner), patient=patient, purpose="sms_reminders"
        )
    client = world.client("practitioner_a")
    client.get(_url("patients:detail", patient))
    client.get(_url("patients:detail", other))
    response = client.get(_url("patients:export_json", patient))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Disposition"].startswith("attachment")
    data = json.loads(response.content)
    assert data["patient"]["last_name"] == "Lefèvre"
    assert data["patient"]["nir"] == "284076938212345"
    assert [n["text"] for n in data["clinical_notes"]] == [NOTE]
    assert [c["purpose"] for c in data["consents"]] == ["sms_reminders"]
    actions = [a["action"] for a in data["accesses"]]
    assert "create" in actions and "view" in actions and "export" in actions
    raw = response.content.decode()
    for leak in ("Zyglowska", "Apolline", "zyg@example.org", "autre patient", str(other.pk)):
        assert leak not in raw
    html = client.get(_url("patients:export_html", patient)).content.decode()
    assert NOTE in html and "Lefèvre" in html and "Zyglowska" not in html


def _restricted(world, patient, allowed=()):
    with practice_scope(world.practice_a):
        services.patient_set_restricted(
            actor=as_actor(), patient=patient, restricted=True, practitioners=list(allowed)
        )


def test_restricted_notes_only_for_practitioner_with_object_permission(world):
    from tests.factories import UserFactory, grant

    patient = make_patient(world.practice_a)
    add_note(patient, world.users["practitioner_a"], NOTE)
    other_doctor = grant(UserFactory(username="dr_other"), "practitioner", world.practice_a)
    _restricted(world, patient, allowed=[world.users["practitioner_a"]])
    assert (
        NOTE
        in world.client("practitioner_a").get(_url("patients:detail", patient)).content.decode()
    )
    from tests.personas import verified_client

    client = verified_client(other_doctor)
    html = client.get(_url("patients:detail", patient)).content.decode()
    assert NOTE not in html and "Accès d'urgence" in html
    assert client.get(_url("patients:export_json", patient)).status_code == 403
    assert client.post(_url("patients:note_add", patient), {"text": "x"}).status_code == 403


def test_global_permission_does_not_open_a_restricted_record(world):
    from django.contrib.auth.models import Permission

    patient = make_patient(world.practice_a)
    add_note(patient, world.users["practitioner_a"], NOTE)
    _restricted(world, patient)
    doctor = world.users["practitioner_a"]
    doctor.user_permissions.add(Permission.objects.get(codename="view_restricted_notes"))
    html = world.client("practitioner_a").get(_url("patients:detail", patient)).content.decode()
    assert NOTE not in html


def test_break_glass_needs_a_reason_and_opens_for_four_hours(world):
    patient = make_patient(world.practice_a)
    add_note(patient, world.users["practitioner_a"], NOTE)
    _restricted(world, patient)
    client = world.client("practitioner_a")
    url = _url("patients:break_glass", patient)
    assert client.get(url).status_code == 200
    response = client.post(url, {"reason": ""})
    assert response.status_code == 200
    with practice_scope(world.practice_a):
        assert not BreakGlassGrant.objects.exists()
    response = client.post(url, {"reason": "Patient inconscient aux urgences, appel du SAMU"})
    assert response.status_code == 302
    assert NOTE in client.get(_url("patients:detail", patient)).content.decode()
    event = AuditEvent.objects.filter(action="break_glass").get()
    assert event.object_id == str(patient.pk) and "SAMU" not in json.dumps(event.detail)
    review = client.get(_url("patients:break_glass_list")).content.decode()
    assert "SAMU" in review
    # Expired: the notes close again.
    with practice_scope(world.practice_a):
        from django.utils import timezone

        BreakGlassGrant.objects.update(expires_at=timezone.now())
    assert NOTE not in client.get(_url("patients:detail", patient)).content.decode()


def test_telesecretary_cannot_break_glass(world):
    patient = make_patient(world.practice_a)
    _restricted(world, patient)
    client = world.client("telesecretary_a")
    assert (
        client.post(_url("patients:break_glass", patient), {"reason": "x" * 20}).status_code == 403
    )


def test_tampered_row_shows_error_page_not_ciphertext(world):
    patient = make_patient(world.practice_a)
    with practice_scope(world.practice_a):
        other = make_patient(world.practice_a, last_name="Autre", phone="0700000000")
        Patient.objects.filter(pk=patient.pk).update(last_name_sealed=other.last_name_sealed)
    response = world.client("telesecretary_a").get(_url("patients:detail", patient))
    assert response.status_code == 500
    html = response.content.decode()
    assert "Données illisibles" in html and "Autre" not in html
    assert "no-store" in response["Cache-Control"]


def test_practitioner_restricts_record_to_himself(world):
    from tests.factories import UserFactory, grant
    from tests.personas import verified_client

    patient = make_patient(world.practice_a)
    add_note(patient, world.users["practitioner_a"], NOTE)
    client = world.client("practitioner_a")
    response = client.post(_url("patients:restrict", patient), {"restricted": "1"})
    assert response.status_code == 302
    assert NOTE in client.get(_url("patients:detail", patient)).content.decode()
    other = verified_client(
        grant(UserFactory(username="dr_other"), "practitioner", world.practice_a)
    )
    assert NOTE not in other.get(_url("patients:detail", patient)).content.decode()
    # The other practitioner cannot lift a restriction he cannot see through.
    assert other.post(_url("patients:restrict", patient), {"restricted": "0"}).status_code == 403
    client.post(_url("patients:restrict", patient), {"restricted": "0"})
    assert NOTE in other.get(_url("patients:detail", patient)).content.decode()


def test_patient_is_not_in_the_admin():
    from django.contrib import admin

    from patients.models import ClinicalNote, PracticeKey

    for model in (Patient, ClinicalNote, PracticeKey, BreakGlassGrant, Consent):
        assert not admin.site.is_registered(model)


def test_edit_warns_when_it_would_duplicate_another_patient(world):
    make_patient(world.practice_a, phone="0612345678")
    second = make_patient(
        world.practice_a, last_name="Autre", first_names="Jean", phone="0799999999"
    )
    client = world.client("telesecretary_a")
    data = {
        "last_name": "Autre",
        "first_names": "Jean",
        "birth_date": "14/07/1984",
        "phone": "06 12 34 56 78",
    }
    response = client.post(_url("patients:edit", second), data)
    assert response.status_code == 200 and "Doublon possible" in response.content.decode()
    # Saving itself unchanged is not a duplicate of itself.
    response = client.post(_url("patients:edit", second), {**data, "phone": "0799999999"})
    assert response.status_code == 302


def test_export_lists_who_found_the_patient_by_search(world):
    import json

    patient = make_patient(world.practice_a, last_name="Lefèvre")
    other = make_patient(world.practice_a, last_name="Martin", phone="07 00 00 00 01")
    world.client("telesecretary_a").post(_url("patients:search"), {"q": "06 12 34 56 78"})
    response = world.client("practitioner_a").get(_url("patients:export_json", patient))
    accesses = json.loads(response.content)["accesses"]
    assert any(a["who"] == "tele_a" and a["action"] == "search" for a in accesses)
    other_export = world.client("practitioner_a").get(_url("patients:export_json", other))
    assert not any(a["who"] == "tele_a" for a in json.loads(other_export.content)["accesses"])
