"""Retention of the audit trail: drop the month partitions older than a month,
oldest first, each after its chains are verified and checkpointed (see
audit.partitions.partition_drop). Without --confirm, only lists what would go.

Needs a database role that owns audit_auditevent (the DBA's, not the
application's): the application role cannot drop or detach its partitions.
"""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from audit import partitions
from compliance.retention import longest_audit_retention_days


def _month(value: str) -> date:
    try:
        year, month = value.split("-")
        return date(int(year), int(month), 1)
    except ValueError as error:
        raise CommandError(f"Mois invalide : {value!r} (attendu AAAA-MM).") from error


class Command(BaseCommand):
    help = "Supprime les mois du journal d'audit antérieurs à un mois (rétention)."

    def add_arguments(self, parser):
        parser.add_argument("--before", required=True, metavar="AAAA-MM")
        parser.add_argument("--confirm", action="store_true", help="supprimer vraiment")

    def handle(self, *args, before: str, confirm: bool = False, **options):
        before = _month(before)
        if not partitions.is_partitioned():
            raise CommandError("Le journal d'audit n'est partitionné que sur PostgreSQL.")
        days = longest_audit_retention_days()
        oldest_kept = timezone.now() - timedelta(days=days)
        doomed = [p for p in partitions.list_partitions() if p.month and p.month < before]
        too_recent = [p for p in doomed if p.upper > oldest_kept]
        if too_recent:
            raise CommandError(
                f"La conservation la plus longue en vigueur est de {days} jours : "
                f"{too_recent[0].month:%Y-%m} doit être conservé."
            )
        if not doomed:
            self.stdout.write("Aucun mois à supprimer.")
            return
        for partition in doomed:
            if not confirm:
                events = sum(row[3] for row in partitions.chain_ranges(partition))
                self.stdout.write(f"{partition.month:%Y-%m}  {events} événements  (à supprimer)")
                continue
            try:
                summary = partitions.partition_drop(partition=partition)
            except partitions.PartitionDropRefused as error:
                raise CommandError(str(error)) from error
            self.stdout.write(
                f"{partition.month:%Y-%m}  {summary['events']} événements, "
                f"{summary['chains']} chaîne(s)  supprimé"
            )
        if not confirm:
            self.stdout.write("Rien n'a été supprimé : relancez avec --confirm.")
