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
from functools import cache

from celery.schedules import crontab
from django.apps import apps
from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Exists, F, Max, OuterRef, Q, Subquery
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import scopes_disabled

from accounts.models import Practice
from accounts.roles import Role
from accounts.scoping import practice_scope
from appointments.models import Appointment, CallMessage, Reminder, WaitingListEntry
from audit.context import Actor
from audit.models import Action
from audit.services import record_event
from compliance import notices
from compliance.models import DataKind, Notice, PurgeSchedule, RetentionPolicy
from patients.models import ClinicalNote, Consent, Patient

PURGE_BATCH = 1000
PURGE_BEAT_ENTRY = "compliance-purge-expired"


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
    DataKind.WAITING_LIST: Rule(
        90,
        7,
        365,
        _(
            "Inscription close (rendez-vous trouvé ou retrait) : gardée le temps de répondre "
            "à une question du patient, puis supprimée. Une inscription ouverte est gardée."
        ),
    ),
    DataKind.CONSENTS: Rule(
        5 * 365,
        365,
        10 * 365,
        _(
            "Consentement retiré : gardé comme preuve après son retrait (RGPD art. 7.1 ; "
            "prescription de 5 ans, art. 2224 du Code civil). Un consentement en cours "
            "n'est jamais purgé."
        ),
    ),
    DataKind.CLINICAL_NOTES: Rule(
        20 * 365,
        20 * 365,
        30 * 365,
        _(
            "Dossier médical : 20 ans au moins après la dernière note (art. R.1112-7 du Code "
            "de la santé publique, par analogie ; CNIL, référentiel cabinets médicaux), "
            "jusqu'à 30 ans pour les dossiers de mineurs (au moins jusqu'à leurs 28 ans)."
        ),
    ),
    DataKind.INACTIVE_PATIENTS: Rule(
        3 * 365,
        365,
        20 * 365,
        _(
            "Fiche d'un patient sans rendez-vous, message, note, inscription en liste "
            "d'attente ni changement de consentement depuis cette durée, et dont plus "
            "aucune donnée n'est à garder : supprimée avec tout ce qui s'y rattache."
        ),
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

# Kinds the application purges itself (audit rows are append-only), leaves
# first: a patient goes last, once each kind has taken its own expired rows.
PURGED_KINDS = (
    DataKind.REMINDERS,
    DataKind.CALL_MESSAGES,
    DataKind.WAITING_LIST,
    DataKind.CONSENTS,
    DataKind.CLINICAL_NOTES,
    DataKind.APPOINTMENTS,
    DataKind.INACTIVE_PATIENTS,
)

# The model of each purged kind, and the column that dates a row of it as an
# activity of its patient (None: not an activity, e.g. a reminder sent).
MODELS = {
    DataKind.REMINDERS: Reminder,
    DataKind.CALL_MESSAGES: CallMessage,
    DataKind.WAITING_LIST: WaitingListEntry,
    DataKind.CONSENTS: Consent,
    DataKind.CLINICAL_NOTES: ClinicalNote,
    DataKind.APPOINTMENTS: Appointment,
    DataKind.INACTIVE_PATIENTS: Patient,
}
ACTIVITY = {
    DataKind.CALL_MESSAGES: "created_at",
    DataKind.WAITING_LIST: "resolved_at",
    DataKind.CONSENTS: "withdrawn_at",
    DataKind.CLINICAL_NOTES: "created_at",
    DataKind.APPOINTMENTS: "end",
}


@cache
def referencing(model: type[models.Model]) -> tuple[tuple[type[models.Model], str], ...]:
    """(model, field) of every foreign key to `model`, found from the models
    themselves: a table that starts referencing a purged row is deleted with it
    without being listed anywhere (tests/compliance/test_retention_kinds.py).
    Cached: the models are fixed once the app registry is ready."""
    return tuple(
        (other, field.name)
        for other in apps.get_models(include_auto_created=True)
        for field in other._meta.concrete_fields
        if isinstance(field, models.ForeignKey) and field.related_model is model
    )


def children(kind: str) -> tuple:
    """(model, field) of the rows that reference a row of `kind` directly."""
    return referencing(MODELS[kind])


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


Periods = dict[str, int | None]

# How long before it takes effect a shorter period (or the first one) is
# announced: the managers and compliance officers read the dry run's counts
# and may still lengthen the period.
NOTICE_DAYS = 7


def _schedules(practice) -> dict[str, PurgeSchedule]:
    with scopes_disabled():
        return {
            row.kind: row
            for row in PurgeSchedule.objects.filter(practice_id=getattr(practice, "pk", practice))
        }


def _in_force(schedule: PurgeSchedule | None, policy: int, when: datetime) -> int | None:
    """The period the purge applies at `when`: the one applied, or the one
    announced once its notice has run; a policy at least as long applies at
    once (it deletes less). None: nothing announced yet, not purged."""
    if schedule is None:
        return None
    applied = schedule.applied_days
    if schedule.announced_days is not None and schedule.due_at <= when:
        applied = schedule.announced_days
    if applied is not None and policy >= applied:
        return policy
    return applied


def periods_in_force(practice, when: datetime | None = None) -> Periods:
    when = when or timezone.now()
    policies = policies_for(practice)
    schedules = _schedules(practice)
    return {kind: _in_force(schedules.get(kind), policies[kind], when) for kind in PURGED_KINDS}


@transaction.atomic
def purge_announce(*, practice, now: datetime | None = None) -> dict[str, int]:
    """Record the periods in force at `now`, and announce each policy the purge
    does not apply yet (shorter than the one applied, or never applied): it
    takes effect NOTICE_DAYS later. The compliance officers and the practice's
    managers get one notice with the dry run's counts at that date, when it
    would delete anything. Idempotent (row locks; a pending announcement of the
    same period is kept). Returns the kinds announced now and their counts."""
    now = now or timezone.now()
    due = now + timedelta(days=NOTICE_DAYS)
    policies = policies_for(practice)
    announced = {}
    with practice_scope(practice):
        # Two runs at once: both insert what is missing, then one waits on the locks.
        PurgeSchedule.objects.bulk_create(
            [PurgeSchedule(practice_id=practice.pk, kind=kind) for kind in PURGED_KINDS],
            ignore_conflicts=True,
        )
        locked = PurgeSchedule.objects.select_for_update().filter(practice_id=practice.pk)
        schedules = {row.kind: row for row in locked.order_by("kind")}
        for kind in PURGED_KINDS:
            schedule = schedules[kind]
            schedule.applied_days = _in_force(schedule, policies[kind], now)
            if schedule.applied_days == policies[kind]:
                schedule.announced_days = schedule.announced_at = schedule.due_at = None
            elif schedule.announced_days != policies[kind]:
                schedule.announced_days = policies[kind]
                schedule.announced_at, schedule.due_at = now, due
                announced[kind] = policies[kind]
            schedule.save()
        if not announced:
            return {}
        at_due = periods_in_force(practice, due)
        counts = {kind: expired(practice, kind, due, at_due).count() for kind in announced}
    if any(counts.values()):
        notices.notify(
            kind=Notice.Kind.PURGE_PLANNED,
            key=f"purge_planned:{practice.pk}:{now.isoformat()}",
            recipients=notices.provider_staff(Role.COMPLIANCE_OFFICER)
            + notices.practice_staff([practice.pk], [Role.PRACTICE_MANAGER]),
            practice=practice,
            params={
                "due": timezone.localdate(due).isoformat(),
                "counts": counts,
                "days": announced,
            },
        )
    return counts


def next_purge_at(now: datetime | None = None) -> datetime:
    """When the nightly purge runs next, from its beat schedule (settings)."""
    now = now or timezone.now()
    schedule = settings.CELERY_BEAT_SCHEDULE[PURGE_BEAT_ENTRY]["schedule"]
    if isinstance(schedule, int | float):
        return now + timedelta(seconds=schedule)
    # The same crontab seen from `now` (the schedule's own clock is the wall clock).
    from_now = crontab(
        minute=schedule._orig_minute,
        hour=schedule._orig_hour,
        day_of_week=schedule._orig_day_of_week,
        day_of_month=schedule._orig_day_of_month,
        month_of_year=schedule._orig_month_of_year,
        nowfun=lambda: now,
        app=schedule.app,
    )
    # remaining_estimate lands a hair before the minute: round to it.
    moment = now + from_now.remaining_estimate(now) + timedelta(seconds=30)
    return moment.replace(second=0, microsecond=0)


@dataclass(frozen=True)
class KindStatus:
    """One line of the retention page: a kind, its policy and bounds, what the
    next purge applies and removes."""

    kind: str
    label: str
    rule: Rule
    policy_days: int
    purged: bool
    applied_days: int | None = None
    announced_days: int | None = None
    due_at: datetime | None = None
    next_count: int | None = None


def purge_status(practice, now: datetime | None = None) -> tuple[datetime, list[KindStatus]]:
    """When the next purge runs, and for every kind of RULES its policy, the
    period that purge applies, a pending announcement and the dry run's count
    at that moment."""
    next_run = next_purge_at(now)
    policies = policies_for(practice)
    schedules = _schedules(practice)
    periods = {
        kind: _in_force(schedules.get(kind), policies[kind], next_run) for kind in PURGED_KINDS
    }
    counts = purge_report(practice, next_run, periods)
    lines = []
    for kind, rule in RULES.items():
        schedule = schedules.get(kind)
        pending = (
            schedule is not None
            and schedule.announced_days is not None
            and schedule.announced_days != periods.get(kind)
        )
        lines.append(
            KindStatus(
                kind=kind,
                label=DataKind(kind).label,
                rule=rule,
                policy_days=policies[kind],
                purged=kind in PURGED_KINDS,
                applied_days=periods.get(kind),
                announced_days=schedule.announced_days if pending else None,
                due_at=schedule.due_at if pending else None,
                next_count=counts.get(kind),
            )
        )
    return next_run, lines


def expired(
    practice, kind: str, now: datetime | None = None, periods: Periods | None = None
) -> models.QuerySet:
    """The rows of `kind` of this practice past their retention, under
    `periods` (days per kind, None: not purged; by default the periods the
    purge applies at `now`). Call it inside the practice's scope (row security
    shows no other rows)."""
    now = now or timezone.now()
    periods = periods or periods_in_force(practice, now)
    if periods.get(kind) is None:
        return MODELS[kind].objects.none()
    cutoff = now - timedelta(days=periods[kind])
    practice_id = getattr(practice, "pk", practice)
    if kind == DataKind.APPOINTMENTS:
        # start < end: the start condition lets the (practice, start) index find
        # the rows; the end condition is the rule.
        return Appointment.objects.filter(practice_id=practice_id, start__lt=cutoff, end__lt=cutoff)
    if kind == DataKind.CALL_MESSAGES:
        return CallMessage.objects.filter(practice_id=practice_id, created_at__lt=cutoff)
    if kind == DataKind.REMINDERS:
        return Reminder.objects.filter(practice_id=practice_id, created_at__lt=cutoff)
    if kind == DataKind.WAITING_LIST:
        # An open entry (resolved_at null) is a patient still waiting: kept.
        return WaitingListEntry.objects.filter(practice_id=practice_id, resolved_at__lt=cutoff)
    if kind == DataKind.CONSENTS:
        # Counted from the withdrawal; a consent in force (withdrawn_at null) is kept.
        return Consent.objects.filter(practice_id=practice_id, withdrawn_at__lt=cutoff)
    if kind == DataKind.CLINICAL_NOTES:
        # The patient's clinical record is kept whole until its newest note is
        # older than the period (20 years from the last note, at least).
        newer = ClinicalNote.objects.filter(
            patient_id=OuterRef("patient_id"), created_at__gte=cutoff
        )
        return ClinicalNote.objects.filter(practice_id=practice_id, created_at__lt=cutoff).exclude(
            Exists(newer)
        )
    if kind == DataKind.INACTIVE_PATIENTS:
        return _inactive_patients(practice_id, now, periods)
    raise ValueError(f"{kind} is not purged by the application")


def _inactive_patients(practice_id: int, now: datetime, periods: Periods):
    """Patients with no activity since the cutoff, none of whose rows is still
    kept by its own kind's period. A row keeps its patient while it is recent
    (an activity) or not expired yet; a future appointment always does (its end
    is after now). An open waiting-list entry keeps its patient; a consent in
    force does not (given long ago, it is no activity; it goes with the patient).
    Rows already purged count through Patient.purged_activity_at, so the dry run
    and the purge (which takes the expired rows first) see the same patients."""
    cutoff = now - timedelta(days=periods[DataKind.INACTIVE_PATIENTS])

    def kept(kind: str, column: str) -> Q:
        # Recent (an activity) or not expired under its own period: the older
        # date; any row of a kind not purged yet keeps its patient.
        if periods.get(kind) is None:
            return Q()
        return Q(**{f"{column}__gte": min(cutoff, now - timedelta(days=periods[kind]))})

    patient = OuterRef("pk")
    keeps = (
        Appointment.objects.filter(kept(DataKind.APPOINTMENTS, "end"), patient=patient),
        CallMessage.objects.filter(kept(DataKind.CALL_MESSAGES, "created_at"), patient=patient),
        ClinicalNote.objects.filter(kept(DataKind.CLINICAL_NOTES, "created_at"), patient=patient),
        Consent.objects.filter(
            Q(given_at__gte=cutoff) | kept(DataKind.CONSENTS, "withdrawn_at"), patient=patient
        ),
        WaitingListEntry.objects.filter(
            Q(resolved_at__isnull=True)
            | Q(created_at__gte=cutoff)
            | kept(DataKind.WAITING_LIST, "resolved_at"),
            patient=patient,
        ),
    )
    found = Patient.objects.filter(practice_id=practice_id, created_at__lt=cutoff).exclude(
        purged_activity_at__gte=cutoff
    )
    for rows in keeps:
        found = found.exclude(Exists(rows))
    return found


def purge_report(
    practice, now: datetime | None = None, periods: Periods | None = None
) -> dict[str, int]:
    """What a purge at `now` would remove, per kind (counts only): the dry run."""
    now = now or timezone.now()
    with practice_scope(practice):
        periods = periods or periods_in_force(practice, now)
        return {kind: expired(practice, kind, now, periods).count() for kind in PURGED_KINDS}


def _delete_rows(model: type[models.Model], rows: models.QuerySet, depth: int = 0) -> int:
    """Delete `rows` and, first, every row referencing them (recursively), one
    DELETE per table. Django's collector would load every row (sealed columns
    included) to cascade by hand: 5x slower (bench.purge). The referencing
    tables come from the models (referencing()), whatever their on_delete: a
    purged patient leaves nothing behind. Returns the rows deleted along."""
    if depth > 4:
        raise RuntimeError(f"references to {model._meta.label} nest too deep to purge")
    along = 0
    for child, field in referencing(model):
        if child is model:
            raise RuntimeError(f"{model._meta.label} references itself: purge it by hand")
        linked = child._base_manager.filter(**{f"{field}__in": rows.values("pk")})
        along += _delete_rows(child, linked, depth + 1)
        along += linked._raw_delete(connection.alias)
    return along


def _mark_activity(kind: str, model: type[models.Model], ids: list) -> None:
    """Keep on each patient the latest activity among their rows about to be
    deleted (Patient.purged_activity_at): their inactivity still counts from it."""
    column = ACTIVITY.get(kind)
    if column is None:
        return
    latest = (
        model._base_manager.filter(pk__in=ids, patient_id=OuterRef("pk"))
        .values("patient_id")
        .annotate(latest=Max(column))
        .values("latest")
    )
    patients = model._base_manager.filter(pk__in=ids, patient__isnull=False).values("patient_id")
    Patient._base_manager.filter(pk__in=patients).update(
        purged_activity_at=Greatest(F("purged_activity_at"), Subquery(latest))
    )


def purge_batch(
    practice,
    kind: str,
    now: datetime,
    batch: int = PURGE_BATCH,
    periods: Periods | None = None,
) -> int:
    """Delete one batch of expired rows and audit it, in one transaction, under
    the practice's scope."""
    with practice_scope(practice):
        periods = periods or periods_in_force(practice, now)
        rows = expired(practice, kind, now, periods)
        ids = list(
            rows.order_by(*BATCH_ORDER.get(kind, ("pk",)))
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return 0
        model = MODELS[kind]
        _mark_activity(kind, model, ids)
        selected = model._base_manager.filter(pk__in=ids)
        along = _delete_rows(model, selected)
        selected._raw_delete(connection.alias)
        record_event(
            actor=Actor.system("retention_purge"),
            action=Action.PURGE,
            practice=practice,
            object_type=kind,
            detail={
                "count": len(ids),
                "first_id": str(ids[0]),
                "last_id": str(ids[-1]),
                "days": periods[kind],
                "rows_along": along,
            },
        )
        return len(ids)


def purge_practice(practice, now: datetime | None = None, batch: int = PURGE_BATCH) -> dict:
    """Purge every kind under the periods in force at `now` (a kind whose
    first period has not been announced long enough is not touched)."""
    now = now or timezone.now()
    periods = periods_in_force(practice, now)
    counts = {}
    for kind in PURGED_KINDS:
        total = 0
        while True:
            removed = purge_batch(practice, kind, now, batch, periods)
            total += removed
            if removed < batch:
                break
        counts[str(kind)] = total
    return counts


def purge_all(now: datetime | None = None, batch: int = PURGE_BATCH) -> dict[int, dict]:
    """The nightly run, for every practice (closed ones too: their rows expire
    like the others): announce the periods that changed, then purge under the
    periods in force."""
    now = now or timezone.now()
    results = {}
    for practice in Practice.objects.order_by("pk"):
        purge_announce(practice=practice, now=now)
        results[practice.pk] = purge_practice(practice, now, batch)
    return results


def longest_audit_retention_days() -> int:
    """The audit trail's month partitions are shared by all practices: the
    longest policy in force governs (the legal default counts for any practice
    without a policy of its own, so it is the floor)."""
    with scopes_disabled():
        stored = RetentionPolicy.objects.filter(kind=DataKind.AUDIT_EVENTS).aggregate(
            longest=models.Max("days")
        )["longest"]
    return max(stored or 0, RULES[DataKind.AUDIT_EVENTS].default_days)
