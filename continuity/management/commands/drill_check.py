"""Internal step of the restore drill, run against the scratch database (the
drill sets DATABASE_URL for this process). Prints one JSON line: identifiers
and counts only."""

import json

from django.core.management.base import BaseCommand
from django.db import connection

from accounts.models import TOTPDevice
from audit.chain import verify_chain
from audit.models import AuditChain
from continuity.backup import row_counts
from secretariat.crypto import DecryptionError

TOTP_SAMPLE = 200


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
        result = {
            "row_counts": counts,
            "chains_checked": len(chains),
            "events_checked": events,
            "broken_chains": broken_chains,
            "broken_event_ids": broken_events,
            "totp_checked": totp_checked,
            "totp_failures": sorted(totp_failures),
        }
        self.stdout.write(json.dumps(result, sort_keys=True))
