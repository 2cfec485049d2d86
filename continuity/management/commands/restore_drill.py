from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from continuity import services
from continuity.models import Outcome


class Command(BaseCommand):
    help = (
        "Exercice de restauration : restaure la dernière sauvegarde dans une base temporaire, "
        "vérifie les comptes de lignes, la chaîne d'audit et le déchiffrement, puis la supprime."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, help="Répertoire des sauvegardes (BACKUP_DIR).")

    def handle(self, *args, dir: Path | None = None, **options):
        result = services.drill_run(directory=dir)
        for name, value in sorted(result.details.items()):
            self.stdout.write(f"  {name} : {value}")
        if result.outcome != Outcome.SUCCESS:
            raise CommandError(
                f"Exercice de restauration {result.pk} en échec ({result.backup_file})."
            )
        self.stdout.write(f"Exercice de restauration {result.pk} réussi ({result.backup_file}).")
