"""Offboarding: everything a practice holds on its patients, for its hand-over,
encrypted to a passphrase the practice holds (patients/handover.py), before its
data keys are destroyed."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.scoping import practice_scope
from audit.context import Actor
from audit.models import Action
from audit.services import record_event
from patients import handover
from patients.management.commands._practice import passphrase_from, practice_by_slug


class Command(BaseCommand):
    help = (
        "Exporte tous les dossiers d'un cabinet pour sa restitution, chiffrés (AES-256-GCM, "
        "clé dérivée par scrypt d'une phrase secrète que le cabinet détient), avec un "
        "manifeste et des empreintes SHA-256. Sans --passphrase-file, une phrase secrète "
        "est tirée au hasard et affichée une seule fois : transmettez-la au cabinet par un "
        "autre canal que le fichier."
    )

    def add_arguments(self, parser):
        parser.add_argument("--practice", required=True)
        parser.add_argument("--output", required=True, help="dossier à créer (refuse d'écraser)")
        parser.add_argument(
            "--passphrase-file",
            help="fichier contenant la phrase secrète du cabinet (16 caractères au moins)",
        )

    def handle(self, *args, practice: str, output: str, passphrase_file: str | None, **options):
        found = practice_by_slug(practice)
        generated = passphrase_file is None
        passphrase = handover.new_passphrase() if generated else passphrase_from(passphrase_file)
        try:
            with practice_scope(found):
                manifest = handover.write_handover(found, Path(output), passphrase)
        except handover.HandoverError as error:
            raise CommandError(str(error)) from None
        record_event(
            actor=Actor.system("export_practice"),
            action=Action.EXPORT,
            practice=found,
            object_type="practice",
            object_id=found.pk,
            detail={
                "patients": manifest["patients"],
                "purpose": "offboarding",
                "sha256": manifest["data_sha256"],
            },
        )
        self.stdout.write(
            f"{manifest['patients']} dossiers chiffrés dans {output} "
            f"(SHA-256 des données : {manifest['data_sha256']})."
        )
        if generated:
            self.stdout.write(
                "Phrase secrète (affichée une seule fois, à transmettre au cabinet par un autre "
                f"canal que le fichier) : {passphrase}"
            )
