"""Patients made through the services, with data that could leak."""

from datetime import date

from accounts.models import Practice, User
from accounts.scoping import practice_scope
from patients import services
from patients.models import Patient
from patients.services import Identity
from tests.factories import as_actor


def identity(**overrides) -> Identity:
    values = {
        "last_name": "Lefèvre",
        "first_names": "Élodie Marie",
        "birth_date": date(1984, 7, 14),
        "birth_name": "Dubois-Clément",
        "phone": "06 12 34 56 78",
        "phone_alt": "",
        "email": "elodie.lefevre@example.org",
        "address": "3 rue des Lilas, 69003 Lyon",
        "nir": "284076938212345",
    }
    values.update(overrides)
    return Identity(**values)


def make_patient(practice: Practice, actor: User | None = None, **overrides) -> Patient:
    with practice_scope(practice):
        return services.patient_create(
            actor=as_actor(actor), practice=practice, identity=identity(**overrides)
        )


def add_note(patient: Patient, author: User, text: str = "Asthme sévère, sous corticoïdes"):
    with practice_scope(patient.practice_id):
        return services.clinical_note_add(actor=as_actor(author), patient=patient, text=text)
