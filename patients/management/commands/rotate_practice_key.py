"""DEK rotation of one practice: new data key, rows re-encrypted in batches."""

from django.core.management.base import BaseCommand

from outbox import services as outbox
from patients import rotation
from patients.management.commands._practice import practice_by_slug


class Command(BaseCommand):
    help = (
        "Fait tourner la clé de données d'un cabinet et rechiffre ses lignes par lots. "
        "Idempotent : relancée, la commande reprend une rotation inachevée."
    )

    def add_arguments(self, parser):
        parser.add_argument("--practice", required=True, help="identifiant d'URL du cabinet")
        parser.add_argument("--batch-size", type=int, default=rotation.BATCH_SIZE)
        parser.add_argument(
            "--async", dest="run_async", action="store_true", help="confier la rotation à Celery"
        )

    def handle(self, *args, practice: str, batch_size: int, run_async: bool, **options):
        found = practice_by_slug(practice)
        if run_async:
            queued = outbox.enqueue("patients.tasks.rotate_practice_key_task", practice_id=found.pk)
            self.stdout.write(f"Rotation confiée à Celery (envoi n° {queued.pk}).")
            return
        report = rotation.rotate_practice_key(practice=found, batch_size=batch_size)
        verb = "démarrée" if report.started else "reprise"
        self.stdout.write(
            f"Rotation {verb} : clé v{report.to_version}, {report.rows} lignes rechiffrées "
            f"en {report.batches} lots."
        )
        if report.retired:
            self.stdout.write(f"Anciennes versions détruites : {report.retired}.")
        if report.refused:
            listed = ", ".join(
                f"{label} : {rows}" for label, rows in sorted(report.refused.items())
            )
            self.stderr.write(
                f"Destruction des versions {report.pending_retirement} refusée : des lignes "
                f"les utilisent encore ({listed}). Relancez la commande : elle les rechiffrera "
                "avant de détruire quoi que ce soit."
            )
        elif report.pending_retirement:
            self.stdout.write(
                f"Versions {report.pending_retirement} conservées le temps que les caches "
                "expirent : relancez la commande dans une minute pour les détruire."
            )
