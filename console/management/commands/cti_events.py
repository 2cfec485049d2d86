"""The phone events between the webhook and the database (console/intake.py):
`manage.py cti_events` counts those waiting and those kept aside, `--drain`
records those waiting now (what the beat task does every minute),
`--retry-failed` puts those kept aside back and records them."""

from django.core.management.base import BaseCommand

from audit.context import Actor
from console import intake


class Command(BaseCommand):
    help = "Count, record, or retry the phone events accepted and not yet recorded."

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--drain", action="store_true")
        action.add_argument("--retry-failed", action="store_true")

    def handle(self, *args, **options):
        if options["drain"]:
            self.stdout.write(f"Enregistrés : {intake.drain()}")
        elif options["retry_failed"]:
            moved = intake.failed_retry(actor=Actor.system("cti_events"))
            self.stdout.write(f"Remis dans la file : {moved}")
        self.stdout.write(f"En attente : {intake.pending()}")
        failed = intake.failed_counts()
        self.stdout.write(f"Mis de côté : {sum(failed.values())}")
        for reason, count in sorted(failed.items()):
            self.stdout.write(f"  {reason} : {count}")
