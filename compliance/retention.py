"""Retention: legal defaults and bounds per data kind (docs/retention.md gives
the legal basis), and the purge of expired rows.

The purge deletes in batches of PURGE_BATCH rows, in a stable order (primary key,
or (start, pk) for appointments, which has an index), each
batch in its own transaction with its own audit event (action "purge"): killed
midway, it has left only complete, audited batches, and a rerun carries on.
Rows are taken with SELECT ... FOR UPDATE SKIP LOCKED, so two purges running
at once share the work instead of waiting on (or double-counting) each other.

Audit events are append-only: the application never deletes them. Their policy
is recorded here; the DBA drops the monthly partitions older than it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import scopes_disabled

from accounts.models import Practice
from accounts.scoping import practice_scope
from appointments.models import Appointment, AppointmentEvent, CallMessage, Reminder
from audit.context import Actor
from audit.models import Action
from audit.services import record_event
from compliance.models import DataKind, RetentionPolicy

PURGE_BATCH = 1000


@dataclass(frozen=True)
class Rule:
    default_days: int
    min_days: int
    max_days: int
    basis: str


RULES: dict[str, Rule] = {
    DataKind.APPOINTMENTS: Rule(
        365,
        30,
        5 * 365,
        _(
            "Agenda tenu pour le cabinet : durée fixée par le contrat (CNIL, référentiel "
            "cabinets médicaux) ; le dossier médical reste chez le praticien."
        ),
    ),
    DataKind.CALL_MESSAGES: Rule(
        90,
        7,
        365,
        _("Messages transmis au praticien : conservés le temps de leur traitement."),
    ),
    DataKind.REMINDERS: Rule(
        90,
        7,
        365,
        _("Journal d'envoi des rappels : preuve d'envoi, puis suppression."),
    ),
    DataKind.AUDIT_EVENTS: Rule(
        365,
        183,
        3 * 365,
        _(
            "Traces d'accès : 6 à 12 mois (CNIL, journalisation), jusqu'à 3 ans si justifié. "
            "Supprimées par l'administrateur de la base (partitions mensuelles)."
        ),
    ),
}

# Kinds the application purges itself (audit rows are append-only).
# Leaves first: an appointment takes its remaining reminders along (cascade).
PURGED_KINDS = (DataKind.REMINDERS, DataKind.CALL_MESSAGES, DataKind.APPOINTMENTS)


def children(kind: str) -> tuple:
    """(model, field) of the rows deleted with a row of `kind` (CASCADE to it)."""
    if kind == DataKind.APPOINTMENTS:
        return ((Reminder, "appointment"), (AppointmentEvent, "appointment"))
    return ()


# Batches walk an index where there is one (appointments: practice, start), so
# that each batch costs its own size, not the size of the whole expired set.
BATCH_ORDER = {DataKind.APPOINTMENTS: ("start", "pk")}


def policy_days(practice, kind: str) -> int:
    with scopes_disabled():
        days = (
            RetentionPolicy.objects.filter(practice=practice, kind=kind)
            .values_list("days", flat=True)
            .first()
        )
    return days if days is not None else RULES[kind].default_days


def policies_for(practice) -> dict[str, int]:
    with scopes_disabled():
        stored = dict(RetentionPolicy.objects.filter(practice=practice).values_list("kind", "days"))
    return {kind: stored.get(kind, rule.default_days) for kind, rule in RULES.items()}


def expired(practice, kind: str, now: datetime | None = None) -> models.QuerySet:
    """The rows of `kind` of this practice past their retention. Call it inside
    the practice's scope (practice data: row security shows no other rows)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=policy_days(practice, kind))
    practice_id = getattr(practice, "pk", practice)
    if kind == DataKind.APPOINTMENTS:
        # start < end: the start condition lets the (practice, start) index find
        # the rows; the end condition is the rule.
        return Appointment.objects.filter(practice_id=practice_id, start__lt=cutoff, end__lt=cutoff)
    if kind == DataKind.CALL_MESSAGES:
        return CallMessage.objects.filter(practice_id=practice_id, created_at__lt=cutoff)
    if kind == DataKind.REMINDERS:
        return Reminder.objects.filter(practice_id=practice_id, created_at__lt=cutoff)
    raise ValueError(f"{kind} is not purged by the application")


def purge_report(practice, now: datetime | None = None) -> dict[str, int]:
    """What the next purge would remove, per kind (counts only)."""
    with practice_scope(practice):
        return {kind: expired(practice, kind, now).count() for kind in PURGED_KINDS}


def _delete(kind: str, model, ids: list) -> None:
    """Children first, then the rows in one DELETE each. Django's collector would
    load every appointment (sealed columns included) to cascade by hand: 5x
    slower (bench.purge). A table that starts referencing appointments without
    being listed in children() makes the batch fail at commit (foreign keys are
    checked then) and roll back whole: never a silent orphan."""
    for child, field in children(kind):
        child.objects.filter(**{f"{field}__in": ids})._raw_delete(connection.alias)
    model.objects.filter(pk__in=ids)._raw_delete(connection.alias)


def purge_batch(practice, kind: str, now: datetime, batch: int = PURGE_BATCH) -> int:
    """Delete one batch of expired rows and audit it, in one transaction, under
    the practice's scope."""
    with practice_scope(practice):
        ids = list(
            expired(practice, kind, now)
            .order_by(*BATCH_ORDER.get(kind, ("pk",)))
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return 0
        _delete(kind, expired(practice, kind, now).model, ids)
        record_event(
            actor=Actor.system("retention_purge"),
            action=Action.PURGE,
            practice=practice,
            object_type=kind,
            detail={
                "count": len(ids),
                "first_id": str(ids[0]),
                "last_id": str(ids[-1]),
                "days": policy_days(practice, kind),
            },
        )
        return len(ids)


def purge_practice(practice, now: datetime | None = None, batch: int = PURGE_BATCH) -> dict:
    now = now or timezone.now()
    counts = {}
    for kind in PURGED_KINDS:
        total = 0
        while True:
            removed = purge_batch(practice, kind, now, batch)
            total += removed
            if removed < batch:
                break
        counts[str(kind)] = total
    return counts


def purge_all(now: datetime | None = None, batch: int = PURGE_BATCH) -> dict[int, dict]:
    """Every practice (closed ones too: their rows expire like the others)."""
    now = now or timezone.now()
    return {
        practice.pk: purge_practice(practice, now, batch)
        for practice in Practice.objects.order_by("pk")
    }


def longest_audit_retention_days() -> int:
    """The audit trail's month partitions are shared by all practices: the
    longest policy in force governs (the legal default counts for any practice
    without a policy of its own, so it is the floor)."""
    with scopes_disabled():
        stored = RetentionPolicy.objects.filter(kind=DataKind.AUDIT_EVENTS).aggregate(
            longest=models.Max("days")
        )["longest"]
    return max(stored or 0, RULES[DataKind.AUDIT_EVENTS].default_days)
