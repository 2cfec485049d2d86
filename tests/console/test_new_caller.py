"""A new caller in the console's flow (issue 14 item 3)."""

import pytest
from django.urls import reverse

from accounts.scoping import practice_scope
from audit.models import AuditEvent
from patients.models import Consent, Patient
from tests.appointments.helpers import booking_world

HTMX = {"HTTP_HX_REQUEST": "true"}
NEW = {
    "phone": "06 11 22 33 44",
    "last_name": "Nouveau",
    "first_names": "Jean",
    "birth_date": "01/02/1990",
    "sms_consent": "oui",
}


@pytest.fixture
def setup(world):
    return booking_world(world)


def _url(name: str, world) -> str:
    return reverse(f"console:{name}", kwargs={"practice": world.practice_a.slug})


def _patients(world) -> list[Patient]:
    with practice_scope(world.practice_a):
        return list(Patient.objects.filter(practice=world.practice_a))


def _consents(world) -> list[str]:
    with practice_scope(world.practice_a):
        return list(
            Consent.objects.filter(practice=world.practice_a).values_list("purpose", flat=True)
        )


def test_unknown_number_opens_the_new_caller_form_with_the_number(world, setup):
    response = world.client("telesecretary_a").post(
        _url("search", world), {"q": "06 11 22 33 44", "auto": "on"}, **HTMX
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert "data-new-caller" in text
    assert 'value="06 11 22 33 44"' in text
    assert 'name="last_name"' in text and "data-autofocus" in text
    assert 'name="email"' not in text and 'name="nir"' not in text  # the least needed


def test_new_caller_is_created_with_sms_consent_and_goes_to_the_slots(world, setup):
    response = world.client("telesecretary_a").post(_url("new_caller", world), NEW, **HTMX)
    assert response.status_code == 200
    text = response.content.decode()
    assert "data-booking" in text and 'data-slot-key="1"' in text
    created = [p for p in _patients(world) if p.pk != setup.patient.pk]
    assert len(created) == 1
    assert created[0].read("phone") == "+33611223344"
    assert _consents(world) == [Consent.Purpose.SMS_REMINDERS]
    assert AuditEvent.objects.filter(
        action="create", object_type="patient", object_id=str(created[0].pk)
    ).exists()
    assert AuditEvent.objects.filter(action="create", object_type="consent").exists()


def test_new_caller_who_declines_sms_has_no_consent(world, setup):
    world.client("telesecretary_a").post(
        _url("new_caller", world), {**NEW, "sms_consent": "non"}, **HTMX
    )
    assert len(_patients(world)) == 2
    assert _consents(world) == []


def test_new_caller_without_the_consent_question_is_refused_in_french(world, setup):
    data = {key: value for key, value in NEW.items() if key != "sms_consent"}
    response = world.client("telesecretary_a").post(_url("new_caller", world), data, **HTMX)
    assert response.status_code == 400
    assert "Demandez si le patient accepte les rappels par SMS." in response.content.decode()
    assert len(_patients(world)) == 1


def test_new_caller_with_a_bad_birth_date_is_refused(world, setup):
    data = {**NEW, "birth_date": "31/02/1990"}
    response = world.client("telesecretary_a").post(_url("new_caller", world), data, **HTMX)
    assert response.status_code == 400
    assert len(_patients(world)) == 1


def test_new_caller_who_exists_is_a_warning_linking_the_patient(world, setup):
    same_phone = {**NEW, "phone": "06 12 34 56 78"}  # setup.patient's number
    client = world.client("telesecretary_a")
    response = client.post(_url("new_caller", world), same_phone, **HTMX)
    assert response.status_code == 409
    text = response.content.decode()
    link = reverse(
        "console:patient", kwargs={"practice": world.practice_a.slug, "patient": setup.patient.pk}
    )
    assert link in text
    assert len(_patients(world)) == 1
    confirmed = client.post(
        _url("new_caller", world), {**same_phone, "confirm_duplicate": "on"}, **HTMX
    )
    assert confirmed.status_code == 200
    assert len(_patients(world)) == 2


def test_new_caller_posted_fields_cannot_name_a_practice(world, setup):
    data = {**NEW, "practice": world.practice_b.pk, "restricted": "on"}
    world.client("telesecretary_ab").post(_url("new_caller", world), data, **HTMX)
    created = [p for p in _patients(world) if p.pk != setup.patient.pk]
    assert [p.practice_id for p in created] == [world.practice_a.pk]
    assert not created[0].restricted
