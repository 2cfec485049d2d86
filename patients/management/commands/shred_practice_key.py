"""Crypto-shredding: destroy a practice's data keys, irreversibly."""

from django.core.management.base import BaseCommand, CommandError

from patients import rotation
from patients.management.commands._practice import practice_by_slug


class Command(BaseCommand):
    help = (
        "Détruit définitivement les clés d'un cabinet : ses données chiffrées deviennent "
        "illisibles. Exige --confirm avec l'identifiant du cabinet."
    )

    def add_arguments(self, parser):
        parser.add_argument("--practice", required=True)
        parser.add_argument("--confirm", required=True, help="répéter l'identifiant du cabinet")

    def handle(self, *args, practice: str, confirm: str, **options):
        if confirm != practice:
            raise CommandError("--confirm doit répéter exactement l'identifiant du cabinet.")
        found = practice_by_slug(practice)
        versions = rotation.shred_practice_key(practice=found)
        self.stdout.write(
            f"Clés du cabinet « {found.slug} » détruites (versions {versions}). "
            "Ses données sont désormais indisponibles."
        )
