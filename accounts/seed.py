"""The demo's people and practices (synthetic). Other apps add their demo data
in extend_demo, keeping the `seed_demo --json` contract stable."""

from accounts.models import Practice
from accounts.roles import Role

TILLEULS = "Cabinet médical des Tilleuls"
SAINT_ROCH = "Centre de santé Saint-Roch"

DEMO_PRACTICES = [
    {"name": TILLEULS, "slug": "tilleuls"},
    {"name": SAINT_ROCH, "slug": "saint-roch"},
]

DEMO_USERS = [
    {
        "username": "tele.martin",
        "first_name": "Julie",
        "last_name": "Martin",
        "role": Role.TELESECRETARY,
        "practices": [TILLEULS],
    },
    {
        "username": "tele.bernard",
        "first_name": "Karim",
        "last_name": "Bernard",
        "role": Role.TELESECRETARY,
        "practices": [TILLEULS, SAINT_ROCH],
    },
    {
        "username": "dr.durand",
        "first_name": "Claire",
        "last_name": "Durand",
        "role": Role.PRACTITIONER,
        "practices": [TILLEULS],
    },
    {
        "username": "dr.petit",
        "first_name": "Antoine",
        "last_name": "Petit",
        "role": Role.PRACTITIONER,
        "practices": [SAINT_ROCH],
    },
    {
        "username": "resp.moreau",
        "first_name": "Sophie",
        "last_name": "Moreau",
        "role": Role.PRACTICE_MANAGER,
        "practices": [TILLEULS],
    },
    {
        "username": "conformite",
        "first_name": "Louis",
        "last_name": "Garnier",
        "role": Role.COMPLIANCE_OFFICER,
    },
    {
        "username": "admin.plateforme",
        "first_name": "Nadia",
        "last_name": "Roux",
        "role": Role.PLATFORM_ADMIN,
    },
]


def extend_demo(practices: dict[str, Practice]) -> list[dict]:
    from appointments.demo import demo_agenda
    from patients.seed import demo_patients

    described = [
        {"name": name, "patients": demo_patients(practice, index)}
        for index, (name, practice) in enumerate(practices.items())
    ]
    # After the patients: their appointments need them.
    for practice in practices.values():
        demo_agenda(practice)
    return described
