"""A telesecretary finds the caller by phone; a practitioner reads the notes."""

import pytest

from accounts.roles import Role
from tests.browser.helpers import log_in
from tests.factories import PracticeFactory, UserFactory, grant
from tests.patients.helpers import add_note, make_patient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOTE = "Allergie à la pénicilline"


@pytest.fixture
def practice_with_patient():
    practice = PracticeFactory(name="Cabinet des Lilas", slug="lilas")
    doctor = grant(UserFactory(username="dr.lilas"), Role.PRACTITIONER, practice)
    patient = make_patient(
        practice, last_name="Lefèvre", first_names="Élodie", phone="06 12 34 56 78"
    )
    add_note(patient, doctor, NOTE)
    other = PracticeFactory(name="Autre cabinet", slug="autre")
    make_patient(other, last_name="Lefèvre", first_names="Autre", phone="06 12 34 56 78")
    return practice, doctor


def test_telesecretary_finds_caller_by_phone_without_clinical_notes(
    page, practice_with_patient, screenshot_dir
):
    practice, _doctor = practice_with_patient
    tele = grant(UserFactory(username="tele.lilas"), Role.TELESECRETARY, practice)
    log_in(page, tele)
    page.goto("/p/lilas/patients/")
    page.fill("input[name=q]", "+33 6 12 34 56 78")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    results = page.content()
    assert "Élodie" in results
    assert "Autre" not in results.replace("Autre cabinet", "")
    page.locator("tr", has_text="Élodie").locator("a").first.click()
    page.wait_for_url("**/patients/*/")
    card = page.content()
    assert "Élodie" in card
    assert NOTE not in card
    page.screenshot(path=screenshot_dir / "patient-card-telesecretary.png", full_page=True)


def test_practitioner_reads_clinical_notes(page, practice_with_patient, screenshot_dir):
    _practice, doctor = practice_with_patient
    log_in(page, doctor)
    page.goto("/p/lilas/patients/")
    page.fill("input[name=q]", "lefevre elodie")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    page.locator("tr", has_text="Élodie").locator("a").first.click()
    page.wait_for_url("**/patients/*/")
    assert NOTE in page.content()
    page.screenshot(path=screenshot_dir / "patient-card-practitioner.png", full_page=True)
