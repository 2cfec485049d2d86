"""Recompute every audit chain (or one practice's) and check its signed digests;
with --against, also check daily export files (audit.digests.digest_export)
against the trail. Each break is alerted (compliance.audit_trail) unless --no-alert.

Exit status 0 when every chain and export verifies, 1 when one is broken (after
printing all). Each chain's line is printed as soon as it is verified (chain id
order); --jobs chains are verified at once, each by its own database connection.
"""

from argparse import ArgumentTypeError
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Practice
from audit import digests, verification
from audit.chain import BrokenLink, chain_key
from compliance.audit_trail import alert_finding


def _describe(broken: BrokenLink) -> str:
    return (
        f"anomalie={broken.problem} événement={broken.event_id or '-'} "
        f"seq={broken.seq} attendu={broken.expected} trouvé={broken.found}"
    )


def _jobs(value: str) -> int:
    jobs = int(value)
    if jobs < 1:
        raise ArgumentTypeError("au moins 1")
    return jobs


class Command(BaseCommand):
    help = "Vérifie les chaînes du journal d'audit et leurs empreintes signées."
    # The system checks import every URLconf and view (~2 s of CPU at each run):
    # nothing this command reads depends on them.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--practice", metavar="SLUG", help="une seule chaîne : ce cabinet")
        parser.add_argument(
            "--no-alert", action="store_true", help="ne pas enregistrer d'alerte en cas de rupture"
        )
        parser.add_argument(
            "--against",
            nargs="+",
            type=Path,
            default=[],
            metavar="FICHIER",
            help="exports quotidiens des empreintes (audit-digests-AAAA-MM-JJ.json) à confronter",
        )
        parser.add_argument(
            "--jobs",
            type=_jobs,
            default=None,
            metavar="N",
            help=(
                "chaînes vérifiées en même temps, chacune par sa connexion à la base "
                "(défaut : AUDIT_VERIFY_WORKERS, le nombre de processeurs jusqu'à 4) ; "
                "le calcul se fait dans PostgreSQL : compter ses processeurs"
            ),
        )

    def handle(self, *args, practice=None, no_alert=False, against=(), jobs=None, **options):
        missing = [str(path) for path in against if not path.is_file()]
        if missing:
            raise CommandError(f"Fichier introuvable : {', '.join(missing)}")
        practice_id = None
        if practice:
            practice_id = (
                Practice.objects.filter(slug=practice).values_list("pk", flat=True).first()
            )
            if practice_id is None:
                raise CommandError(f"Cabinet inconnu : {practice}")
        failed, chains = self._chains(practice_id, no_alert, jobs)
        export_failed = sum(self._export(path, practice_id, no_alert) for path in against)
        if failed or export_failed:
            message = f"{failed} chaîne(s) rompue(s) sur {chains}."
            if against:
                message += f" {export_failed} anomalie(s) dans {len(against)} export(s)."
            raise CommandError(message, returncode=1)
        self.stdout.write(f"{chains} chaîne(s) vérifiée(s) : OK")
        if against:
            self.stdout.write(f"{len(against)} export(s) vérifié(s) : OK")

    def _chains(self, practice_id: int | None, no_alert: bool, jobs: int | None) -> tuple[int, int]:
        """Print each chain's verification as it comes; return (broken, checked)."""
        failed = checked = 0
        for report in verification.verify_each(practice_id, jobs):
            checked += 1
            if report.ok:
                self.stdout.write(
                    f"{report.chain_key}  {report.count} événements  "
                    f"{report.digests_checked} empreintes  OK"
                )
                continue
            failed += 1
            self.stdout.write(
                f"{report.chain_key}  ROMPUE après {report.count} événements : "
                + _describe(report.broken)
            )
            if not no_alert:
                alert_finding(digests.report_finding(report))
        if practice_id is not None and not checked:
            self.stdout.write(f"{chain_key(practice_id)}  0 événement  OK (chaîne vide)")
        return failed, checked

    def _export(self, path: Path, practice_id: int | None, no_alert: bool) -> int:
        """Print the export's check; return its number of breaks."""
        report = verification.export_check(path, practice_id)
        if report.ok:
            self.stdout.write(f"{path.name}  {report.entries_checked} empreintes  OK")
        for broken in report.broken:
            self.stdout.write(f"{broken.chain_key}  ROMPUE selon {path.name} : {_describe(broken)}")
            if not no_alert:
                alert_finding(digests.export_finding(path, broken))
        return len(report.broken)
