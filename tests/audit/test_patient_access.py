""" "Qui a accédé à ce patient ?" from end to end: the practitioner reads the
reference on the patient's card, the compliance officer's report takes it and
lists every page that showed the patient, the booking search included; the
patient's own export lists the same."""

import json
import re

import pytest
from django.urls import reverse

from tests.patients.helpers import make_patient

pytestmark = pytest.mark.django_db


def _reference(page: str) -> str:
    return re.search(r'id="reference">.*?<code translate="no">([^<]+)</code>', page).group(1)


def test_reference_on_the_card_opens_the_report_with_the_booking_search(world):
    patient = make_patient(world.practice_a, last_name="Lefèvre")
    slug = world.practice_a.slug
    booking = world.client("telesecretary_a").post(
        reverse("appointments:book", args=[slug]), {"q": "Lefèvre"}
    )
    assert reverse("appointments:book_type", args=[slug, patient.pk]) in booking.content.decode()

    doctor = world.client("practitioner_a")
    card = doctor.get(reverse("patients:detail", args=[slug, patient.pk])).content.decode()
    reference = _reference(card)

    report = world.client("compliance_officer").post(
        reverse("audit:patient_access"), {"practice": world.practice_a.pk, "patient_id": reference}
    )
    assert report.status_code == 200
    shown = [(e.action, e.detail.get("for")) for e in report.context["events"]]
    assert ("search", "booking") in shown
    assert ("view", None) in shown  # the practitioner's own reading of the card

    export = doctor.get(reverse("patients:export_json", args=[slug, patient.pk]))
    accesses = json.loads(
        b"".join(export.streaming_content) if export.streaming else export.content
    )
    actions = [(access["who"], access["action"]) for access in accesses["accesses"]]
    assert ("tele_a", "search") in actions


def test_report_refuses_what_is_not_a_reference(world):
    response = world.client("compliance_officer").post(
        reverse("audit:patient_access"), {"practice": world.practice_a.pk, "patient_id": "Dupont"}
    )
    assert response.status_code == 400
    assert "Référence invalide" in response.content.decode()
