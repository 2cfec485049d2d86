"""The demo's people and practices (synthetic), and the actor that seeds them."""

from accounts.roles import Role
from audit.context import Actor

SEED = Actor.system("seed_demo")

TILLEULS = "Cabinet médical des Tilleuls"
SAINT_ROCH = "Centre de santé Saint-Roch"

DEMO_PRACTICES = [
    {
        "name": TILLEULS,
        "slug": "tilleuls",
        "address": "12 place des Tilleuls, 69003 Lyon",
        "specialty": "Médecine générale",
        "dpo_name": "Dr Claire Morel, référente données personnelles",
        "dpo_email": "donnees@tilleuls.example.org",
    },
    {
        "name": SAINT_ROCH,
        "slug": "saint-roch",
        "address": "4 rue Saint-Roch, 69007 Lyon",
        "specialty": "Centre de santé pluridisciplinaire",
        "dpo_name": "Cabinet Saint-Roch, contact données personnelles",
        "dpo_phone": "04 72 00 00 00",
    },
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
