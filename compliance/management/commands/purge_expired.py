"""Delete rows past their practice's retention (or, with --dry-run, count them).
Like the nightly task, a real run first announces the periods that changed
(they apply after the notice, compliance/retention.py)."""

from django.core.management.base import BaseCommand

from accounts.models import Practice
from compliance import retention


class Command(BaseCommand):
    help = "Supprime les données dont la durée de conservation est échue (par lots, audité)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="compter sans rien supprimer")
        parser.add_argument("--batch", type=int, default=retention.PURGE_BATCH)

    def handle(self, *args, dry_run=False, batch=retention.PURGE_BATCH, **options):
        total = 0
        for practice in Practice.objects.order_by("pk"):
            if dry_run:
                counts = retention.purge_report(practice)
            else:
                retention.purge_announce(practice=practice)
                counts = retention.purge_practice(practice, batch=batch)
            total += sum(counts.values())
            shown = "  ".join(f"{kind}={count}" for kind, count in counts.items())
            self.stdout.write(f"{practice.slug}  {shown}")
        verb = "seraient supprimées" if dry_run else "supprimées"
        self.stdout.write(f"{total} ligne(s) {verb}.")
