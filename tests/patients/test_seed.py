import json
from io import StringIO

import pytest
from django.core.management import call_command

from patients.models import ClinicalNote, Patient
from tests.scoping import every_practice


def _seed() -> dict:
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_seed_demo_lists_patients_and_is_idempotent(client):
    first = _seed()
    second = _seed()
    assert first["practices"] == second["practices"]
    for practice in first["practices"]:
        assert len(practice["patients"]) == 8
        for patient in practice["patients"]:
            assert set(patient) >= {
                "first_name",
                "last_name",
                "phone",
                "birth_date",
                "clinical_note",
            }
    with every_practice():
        assert Patient.objects.count() == 16
        assert ClinicalNote.objects.count() == 16
        assert {note.author.username for note in ClinicalNote.objects.select_related("author")} == {
            "dr.durand",
            "dr.petit",
        }
