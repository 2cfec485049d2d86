"""Crypto-shredding: destroy a practice's data keys, irreversibly."""

from django.core.management.base import BaseCommand, CommandError

from audit.context import Actor
from patients import rotation
from patients.management.commands._practice import practice_by_slug


class Command(BaseCommand):
    help = (
        "Détruit définitivement les clés d'un cabinet : ses données chiffrées deviennent "
        "illisibles. Exige --confirm avec l'identifiant du cabinet, et une restitution "
        "(export_practice) enregistrée depuis sa fermeture, sauf --without-handover."
    )

    def add_arguments(self, parser):
        parser.add_argument("--practice", required=True)
        parser.add_argument("--confirm", required=True, help="répéter l'identifiant du cabinet")
        parser.add_argument(
            "--without-handover",
            action="store_true",
            help=(
                "détruire les clés même sans restitution enregistrée (le cabinet perd alors "
                "ses données pour toujours ; la dérogation est journalisée)"
            ),
        )

    def handle(self, *args, practice: str, confirm: str, without_handover: bool, **options):
        if confirm != practice:
            raise CommandError("--confirm doit répéter exactement l'identifiant du cabinet.")
        found = practice_by_slug(practice)
        try:
            versions = rotation.shred_practice_key(
                practice=found,
                actor=Actor.system("shred_practice_key"),
                without_handover=without_handover,
            )
        except rotation.ShredRefused as refusal:
            raise CommandError(str(refusal)) from None
        self.stdout.write(
            f"Clés du cabinet « {found.slug} » détruites (versions {versions}). "
            "Ses données sont désormais indisponibles."
        )
