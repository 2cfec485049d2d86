"""Recompute every audit chain (or one practice's) and check its signed digests.

Exit status 0 when every chain verifies, 1 when one is broken (after printing all).
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Practice
from audit import services, verification
from audit.models import AuditChain


class Command(BaseCommand):
    help = "Vérifie les chaînes du journal d'audit et leurs empreintes signées."

    def add_arguments(self, parser):
        parser.add_argument("--practice", metavar="SLUG", help="une seule chaîne : ce cabinet")
        parser.add_argument(
            "--no-alert", action="store_true", help="ne pas enregistrer d'alerte en cas de rupture"
        )

    def handle(self, *args, practice=None, no_alert=False, **options):
        practice_id = None
        if practice:
            practice_id = (
                Practice.objects.filter(slug=practice).values_list("pk", flat=True).first()
            )
            if practice_id is None:
                raise CommandError(f"Cabinet inconnu : {practice}")
        reports = verification.verify_all(practice_id)
        if practice_id is not None and not reports:
            self.stdout.write(f"practice:{practice_id}  0 événement  OK (chaîne vide)")
        failed = 0
        for report in reports:
            if report.ok:
                self.stdout.write(
                    f"{report.chain_key}  {report.count} événements  "
                    f"{report.digests_checked} empreintes  OK"
                )
                continue
            failed += 1
            broken = report.broken
            self.stdout.write(
                f"{report.chain_key}  ROMPUE après {report.count} événements : "
                f"anomalie={broken.problem} événement={broken.event_id or '-'} "
                f"seq={broken.seq} attendu={broken.expected} trouvé={broken.found}"
            )
            if not no_alert:
                services.alert_raise(
                    chain=AuditChain.objects.get(pk=report.chain_id), broken=broken
                )
        if failed:
            raise CommandError(f"{failed} chaîne(s) rompue(s) sur {len(reports)}.", returncode=1)
        self.stdout.write(f"{len(reports)} chaîne(s) vérifiée(s) : OK")
