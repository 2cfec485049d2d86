from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from continuity.backup import BackupError, DatabaseTarget, backup_restore, schema_ahead_of_code
from continuity.stream import BackupIntegrityError


class Command(BaseCommand):
    help = (
        "Restaure une sauvegarde dans une base VIDE, après vérification complète du fichier "
        "(rien n'est écrit si un seul octet est altéré ou si le fichier est tronqué)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--database-url", help="Base cible (par défaut : celle des réglages, DATABASE_URL)."
        )
        parser.add_argument(
            "--keep-privileges",
            action="store_true",
            help="Restaurer aussi propriétaires et droits (les rôles doivent exister).",
        )

    def handle(self, *args, file: Path, database_url=None, keep_privileges=False, **options):
        try:
            target = (
                DatabaseTarget.from_url(database_url) if database_url else DatabaseTarget.default()
            )
            manifest = backup_restore(file, target=target, keep_privileges=keep_privileges)
        except BackupIntegrityError as error:
            raise CommandError(f"Sauvegarde refusée, rien n'a été écrit : {error}") from None
        except (BackupError, ImproperlyConfigured) as error:
            raise CommandError(f"Restauration impossible : {error}") from None
        ahead = schema_ahead_of_code(manifest)
        if ahead:
            self.stderr.write(
                "Attention : la sauvegarde vient d'une version plus récente du code "
                f"(migrations inconnues ici : {', '.join(ahead)})."
            )
        tables = len(manifest["row_counts"])
        rows = sum(manifest["row_counts"].values())
        self.stdout.write(f"Restauration terminée : {tables} tables, {rows} lignes ({file.name}).")
