"""Proves that a hand-over (export_practice) round-trips: checksums, every record
decrypted and authenticated, counts equal to the manifest's and, while the
practice's data is still here, each patient equal to a fresh export."""

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
        "Vérifie une restitution de cabinet : empreintes, déchiffrement de chaque dossier, "
        "comptes du manifeste et, avec --practice, comparaison dossier par dossier avec la base."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--input", dest="source", required=True, help="dossier créé par export_practice"
        )
        parser.add_argument("--passphrase-file", help="fichier contenant la phrase secrète")
        parser.add_argument("--practice", help="comparer avec les données de ce cabinet")

    def handle(
        self, *args, source: str, passphrase_file: str | None, practice: str | None, **options
    ):
        passphrase = passphrase_from(passphrase_file)
        found = practice_by_slug(practice) if practice else None
        try:
            if found is None:
                report = handover.check_handover(Path(source), passphrase)
            else:
                with practice_scope(found):
                    report = handover.check_handover(Path(source), passphrase, found)
        except handover.HandoverError as error:
            raise CommandError(f"Restitution refusée : {error}.") from None
        if found is not None:
            # The proof the shredding of the practice's keys waits for.
            record_event(
                actor=Actor.system("check_practice_export"),
                action=Action.EXPORT,
                practice=found,
                object_type="practice",
                object_id=found.pk,
                detail={
                    "patients": report.patients,
                    "purpose": "offboarding_check",
                    "sha256": report.data_sha256,
                },
            )
        compared = " et identiques à la base" if report.compared_with_database else ""
        self.stdout.write(
            f"Restitution intègre : {report.patients} dossiers déchiffrés{compared} "
            f"({sum(report.sections.values())} éléments)."
        )
