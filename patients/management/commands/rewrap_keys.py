"""KEK rotation: re-wrap every practice key under the keyring's current version."""

from django.core.management.base import BaseCommand

from patients import rotation
from secretariat import crypto


class Command(BaseCommand):
    help = "Rechiffre (re-wrap) toutes les clés de cabinet avec la version courante du trousseau."

    def handle(self, *args, **options):
        done = rotation.rewrap_all()
        total = sum(done.values())
        self.stdout.write(
            f"{total} clés rechiffrées avec la clé maîtresse v{crypto.keyring().current} "
            f"({len(done)} cabinets vérifiés)."
        )
