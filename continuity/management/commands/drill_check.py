"""Internal step of the restore drill, run against the scratch database (the
drill sets DATABASE_URL for this process). Prints one JSON line: identifiers
and counts only."""

import json

from django.core.management.base import BaseCommand
from django.db import connection

from accounts.models import Practice, TOTPDevice
from accounts.scoping import practice_scope
from audit.chain import verify_chain
from audit.models import AuditChain
from continuity.backup import row_counts
from patients.sealed import sample_open
from secretariat.crypto import DecryptionError

TOTP_SAMPLE = 200
# Rows opened per practice and sealed model (patients.sealed lists the models).
SEALED_SAMPLE = 20


class Command(BaseCommand):
    help = "Étape interne de l'exercice de restauration (base de test)."

    def handle(self, *args, **options):
        with connection.cursor() as cursor:
            counts = row_counts(cursor, connection.vendor)
        broken_chains, broken_events, events = [], [], 0
        chains = list(AuditChain.objects.order_by("id"))
        for chain in chains:
            checked, broken = verify_chain(chain)
            events += checked
            if broken is not None:
                broken_chains.append(chain.key)
                if broken.event_id is not None:
                    broken_events.append(broken.event_id)
        totp_failures, totp_checked = [], 0
        for device in TOTPDevice.objects.order_by("?")[:TOTP_SAMPLE]:
            totp_checked += 1
            try:
                device.secret()
            except DecryptionError:
                totp_failures.append(device.pk)
        sealed_checked, sealed_failures = self._sealed()
        result = {
            "row_counts": counts,
            "chains_checked": len(chains),
            "events_checked": events,
            "broken_chains": broken_chains,
            "broken_event_ids": broken_events,
            "totp_checked": totp_checked,
            "totp_failures": sorted(totp_failures),
            "sealed_checked": sealed_checked,
            "sealed_failures": sealed_failures,
        }
        self.stdout.write(json.dumps(result, sort_keys=True))

    def _sealed(self) -> tuple[dict[str, int], list[str]]:
        """A sample of every sealed model's rows, practice by practice, opened
        with the restored keys; a shredded practice's rows are not expected to."""
        checked: dict[str, int] = {}
        failures: list[str] = []
        for practice_id in Practice.objects.order_by("pk").values_list("pk", flat=True):
            with practice_scope(practice_id):
                found = sample_open(practice_id, SEALED_SAMPLE)
            for label, count in found.checked.items():
                checked[label] = checked.get(label, 0) + count
            failures += found.failures
        return checked, sorted(failures)
