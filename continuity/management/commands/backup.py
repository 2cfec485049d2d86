import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from continuity import services
from continuity.backup import BackupError


class Command(BaseCommand):
    help = "Sauvegarde complète chiffrée (AES-256-GCM) de la base, avec manifeste signé."

    def add_arguments(self, parser):
        parser.add_argument("--dest", type=Path, help="Répertoire de destination (BACKUP_DIR).")

    def handle(self, *args, dest: Path | None = None, **options):
        progress = None
        if sys.stdout.isatty():

            def progress(size: int, _last=[0]) -> None:  # noqa: B006 - last printed size
                if size - _last[0] >= 1024 * 1024:
                    _last[0] = size
                    sys.stdout.write(f"\r{size / 1048576:,.1f} Mio écrits")
                    sys.stdout.flush()

        try:
            run = services.backup_run(dest=dest, progress=progress)
        except (BackupError, ImproperlyConfigured) as error:
            raise CommandError(f"Sauvegarde impossible : {error}") from None
        if progress:
            sys.stdout.write("\n")
        self.stdout.write(f"Sauvegarde écrite : {run.path} ({run.manifest['size']} octets)")
