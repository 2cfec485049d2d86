"""Offboarding: everything a practice holds, for its hand-over (one JSON object per
patient and line, then one per sealed row tied to no patient), before its data
keys are destroyed."""

import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from accounts.scoping import practice_scope
from audit.context import Actor
from audit.models import Action
from audit.services import record_event
from patients.management.commands._practice import practice_by_slug
from patients.models import Patient
from patients.selectors import patient_export_data, sealed_records_without_patient

BATCH = 500


class Command(BaseCommand):
    help = (
        "Exporte tous les dossiers d'un cabinet (JSON, une ligne par patient) pour sa "
        "restitution. Le fichier contient des données de santé en clair : transmettez-le "
        "chiffré et détruisez-le ensuite."
    )

    def add_arguments(self, parser):
        parser.add_argument("--practice", required=True)
        parser.add_argument("--output", required=True, help="fichier à créer (refuse d'écraser)")

    def handle(self, *args, practice: str, output: str, **options):
        found = practice_by_slug(practice)
        path = Path(output)
        if path.exists():
            raise CommandError(f"{path} existe déjà : choisissez un autre nom.")
        count = 0
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with practice_scope(found), os.fdopen(descriptor, "w", encoding="utf-8") as out:
            patients = Patient.objects.filter(practice=found).order_by("pk")
            for patient in patients.iterator(chunk_size=BATCH):
                data = patient_export_data(found, patient)
                out.write(json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False) + "\n")
                count += 1
            # Then one line per sealed row tied to no patient (a call message).
            others = sealed_records_without_patient(found)
            for data in others:
                out.write(json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False) + "\n")
        record_event(
            actor=Actor.system("export_practice"),
            action=Action.EXPORT,
            practice=found,
            object_type="practice",
            object_id=found.pk,
            detail={"patients": count, "other_records": len(others), "purpose": "offboarding"},
        )
        self.stdout.write(f"{count} dossiers exportés dans {path} (mode 0600).")
