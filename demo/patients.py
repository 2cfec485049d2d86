"""Demo patients (synthetic): about eight per practice, one clinical note each
written by the practice's practitioner. Idempotent through the blind indexes."""

from datetime import date

from accounts.models import Membership, Practice
from accounts.roles import Role
from accounts.scoping import practice_scope
from demo.people import SEED
from patients import selectors, services
from patients.services import Identity

_PEOPLE = [
    ("Lefèvre", "Élodie", date(1984, 7, 14), "06 12 34 56 78", "Suivi de grossesse, 2e trimestre."),
    (
        "Garnier",
        "Thomas",
        date(1979, 3, 2),
        "06 23 45 67 89",
        "Lombalgie chronique, kinésithérapie.",
    ),
    (
        "Rousseau",
        "Chloé",
        date(1992, 11, 23),
        "07 34 56 78 90",
        "Asthme, renouvellement Ventoline.",
    ),
    ("Faure", "Mathieu Jean", date(1965, 1, 30), "06 45 67 89 01", "Hypertension, sous ramipril."),
    ("Chevalier", "Inès", date(2001, 5, 8), "07 56 78 90 12", "Eczéma, crème émolliente."),
    ("Mercier", "Hugo", date(1958, 9, 17), "06 67 89 01 23", "Diabète de type 2, HbA1c à 7,1 %."),
    ("Blanc", "Léa", date(1988, 12, 3), "06 78 90 12 34", "Migraine, triptan si besoin."),
    (
        "Girard",
        "Nathan",
        date(2010, 4, 21),
        "07 89 01 23 45",
        "Vaccins à jour, croissance normale.",
    ),
    ("Bonnet", "Camille", date(1975, 6, 11), "06 90 12 34 56", "Hypothyroïdie, Levothyrox 75 µg."),
]


def demo_patients(practice: Practice, index: int = 0) -> list[dict]:
    """Create (once) and describe the practice's demo patients."""
    practitioner = (
        Membership.objects.filter(practice=practice, role=Role.PRACTITIONER)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    people = _PEOPLE[index % 2 : index % 2 + 8]
    out = []
    with practice_scope(practice):
        for last_name, first_names, birth_date, phone, note in people:
            identity = Identity(
                last_name=last_name,
                first_names=first_names,
                birth_date=birth_date,
                phone=phone,
                email=f"{first_names.split()[0].lower()}.{last_name.lower()}@example.org",
                address=f"{10 + len(last_name)} rue de la République, 69002 Lyon",
            )
            existing = [
                patient
                for patient in selectors.duplicates(practice, identity)
                if patient.read("last_name") == last_name
                and patient.read("first_names") == first_names
            ]
            if existing:
                patient = existing[0]
            else:
                patient = services.patient_create(practice=practice, identity=identity, actor=SEED)
            if practitioner is not None and not patient.notes.exists():
                services.clinical_note_add(
                    patient=patient, text=note, actor=SEED.for_user(practitioner.user)
                )
            out.append(
                {
                    "id": str(patient.pk),
                    "first_name": first_names,
                    "last_name": last_name,
                    "phone": phone,
                    "birth_date": birth_date.strftime("%d/%m/%Y"),
                    "clinical_note": note,
                }
            )
    return out
