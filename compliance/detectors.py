"""Suspicious-activity detection over the audit trail.

A pass reads the audit events written since the last pass (DetectorCursor), in
bounded batches, and raises alerts under fingerprints, so a rerun over the same
events raises nothing new. Each detector works on a bounded time window and on
indexed columns (actor, action, id).

Detectors:
- mass access: one user opens more than SUSPICIOUS_MASS_ACCESS_PATIENTS distinct
  patients within SUSPICIOUS_MASS_ACCESS_MINUTES;
- off hours: patient data of a practice read or changed on a Sunday, at night, or
  outside the practice's working hours (appointments.WorkingHours, with a margin);
- probing: SUSPICIOUS_DENIED_COUNT permission_denied events from one user within
  SUSPICIOUS_DENIED_MINUTES;
- lockout: an account locked out (once per user or IP and hour);
- new IP: a login from an address the user has not logged in from in the last
  SUSPICIOUS_NEW_IP_DAYS days (the account's very first login excepted);
- role grants: a practice role granted by the provider, waiting for the
  practice's confirmation, and a first manager confirmed by a platform admin;
- break-glass: every break-glass access to a restricted record (the patients
  app records it and never imports compliance);
- restriction changes: a record restricted or opened again, or an attempt
  refused (a break-glass holder trying to lift or take over a restriction);
- shredding refused: a practice's keys kept because no hand-over export is
  recorded since its closure (patients.rotation.shred_practice_key), once per
  practice.

A pass runs every 15 minutes (beat "compliance-detect-suspicious-activity") and
leaves the last COMMIT_LAG to the next pass: an alert follows its event by 1 to
16 minutes.

Not over the audit trail: `detect_stuck_reminders` finds the day-before
reminders claimed but never confirmed sent (appointments/reminders.py).
"""

from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from accounts.models import Practice, User
from accounts.roles import Role
from accounts.scoping import practice_scope
from appointments.models import Reminder, WorkingHours
from audit.models import Action, AuditEvent, Outcome
from compliance import notices
from compliance.models import Alert, DetectorCursor
from compliance.services import alert_raise

CURSOR_NAME = "suspicious_activity"
# Events younger than this are left for the next pass: an id allocated earlier
# may still be committing, and the cursor must not pass over it.
COMMIT_LAG = timedelta(seconds=60)
BATCH = 5000

# Object types carrying patient data (what off-hours access is about).
PATIENT_DATA_TYPES = frozenset(
    {"patient", "appointment", "call_message", "agenda", "patient_search", "patient_export"}
)
PATIENT_OPEN_ACTIONS = (Action.VIEW, Action.EXPORT, Action.UPDATE)
# The roles that resend or dismiss a stuck reminder ("Rappels à vérifier").
STUCK_REMINDER_RECIPIENTS = (Role.TELESECRETARY, Role.PRACTITIONER)


def _id_floor(start: datetime) -> int:
    """The lowest event id that can hold a time >= start (a minute of margin: ids
    and times of concurrent writers may invert by a little). With it, the
    per-user queries walk the (actor, -id) index over the window only, not over
    the user's whole history."""
    first = (
        AuditEvent.objects.filter(occurred_at__gte=start - timedelta(minutes=1))
        .order_by("occurred_at")
        .values_list("id", flat=True)
        .first()
    )
    return first or 0


def _bucket(moment: datetime, minutes: int) -> int:
    return int(moment.timestamp()) // (minutes * 60)


def _sliding_exceeds(
    items: Iterable[tuple[datetime, str]], window: timedelta, threshold: int, distinct: bool
) -> datetime | None:
    """The time at which `threshold` (distinct) keys fall within one window, or None."""
    queue: deque[tuple[datetime, str]] = deque()
    counts: Counter = Counter()
    for moment, key in items:
        queue.append((moment, key))
        counts[key] += 1
        while queue and queue[0][0] < moment - window:
            old_moment, old_key = queue.popleft()
            counts[old_key] -= 1
            if not counts[old_key]:
                del counts[old_key]
        size = len(counts) if distinct else len(queue)
        if size >= threshold:
            return moment
    return None


def detect_mass_access(events: list[AuditEvent]) -> list[Alert]:
    minutes = settings.SUSPICIOUS_MASS_ACCESS_MINUTES
    threshold = settings.SUSPICIOUS_MASS_ACCESS_PATIENTS + 1  # "more than"
    window = timedelta(minutes=minutes)
    by_actor: dict[int, list[AuditEvent]] = defaultdict(list)
    for event in events:
        if (
            event.actor_id
            and event.object_type == "patient"
            and event.action in PATIENT_OPEN_ACTIONS
            and event.object_id
        ):
            by_actor[event.actor_id].append(event)
    alerts = []
    for actor_id, new in by_actor.items():
        start = min(e.occurred_at for e in new) - window
        end = max(e.occurred_at for e in new)
        rows = (
            AuditEvent.objects.filter(
                actor_id=actor_id,
                id__gte=_id_floor(start),
                object_type="patient",
                action__in=PATIENT_OPEN_ACTIONS,
                occurred_at__gte=start,
                occurred_at__lte=end,
            )
            .order_by("occurred_at", "id")
            .values_list("occurred_at", "object_id", "practice_id")[:100_000]
        )
        rows = list(rows)
        hit = _sliding_exceeds(((r[0], r[1]) for r in rows), window, threshold, distinct=True)
        if hit is None:
            continue
        practices = sorted({r[2] for r in rows if r[2]})
        alerts.append(
            alert_raise(
                kind=Alert.Kind.MASS_ACCESS,
                fingerprint=f"mass_access:{actor_id}:{_bucket(hit, minutes)}",
                practice=practices[0] if len(practices) == 1 else None,
                subject=_user(actor_id),
                detail={
                    "threshold": threshold - 1,
                    "minutes": minutes,
                    "practices": practices,
                    "at": hit.isoformat(timespec="seconds"),
                },
            )
        )
    return alerts


def detect_probing(events: list[AuditEvent]) -> list[Alert]:
    minutes = settings.SUSPICIOUS_DENIED_MINUTES
    threshold = settings.SUSPICIOUS_DENIED_COUNT
    window = timedelta(minutes=minutes)
    actors = {e.actor_id for e in events if e.actor_id and e.action == Action.PERMISSION_DENIED}
    alerts = []
    for actor_id in actors:
        new = [e for e in events if e.actor_id == actor_id and e.action == Action.PERMISSION_DENIED]
        rows = list(
            AuditEvent.objects.filter(
                actor_id=actor_id,
                id__gte=_id_floor(min(e.occurred_at for e in new) - window),
                action=Action.PERMISSION_DENIED,
                occurred_at__gte=min(e.occurred_at for e in new) - window,
                occurred_at__lte=max(e.occurred_at for e in new),
            )
            .order_by("occurred_at", "id")
            .values_list("occurred_at", "id")[:10_000]
        )
        hit = _sliding_exceeds(((r[0], str(r[1])) for r in rows), window, threshold, False)
        if hit is None:
            continue
        alerts.append(
            alert_raise(
                kind=Alert.Kind.ACCESS_PROBING,
                fingerprint=f"access_probing:{actor_id}:{_bucket(hit, minutes)}",
                subject=_user(actor_id),
                detail={"threshold": threshold, "minutes": minutes},
            )
        )
    return alerts


def detect_lockouts(events: list[AuditEvent]) -> list[Alert]:
    alerts = []
    for event in events:
        if event.action != Action.LOCKOUT:
            continue
        who = f"user:{event.actor_id}" if event.actor_id else f"ip:{event.ip_address}"
        alerts.append(
            alert_raise(
                kind=Alert.Kind.LOCKOUT,
                fingerprint=f"lockout:{who}:{_bucket(event.occurred_at, 60)}",
                subject=_user(event.actor_id),
                detail={"event_id": event.pk, "ip": event.ip_address},
            )
        )
    return alerts


def detect_new_ip(events: list[AuditEvent]) -> list[Alert]:
    days = settings.SUSPICIOUS_NEW_IP_DAYS
    alerts = []
    for event in events:
        if event.action != Action.LOGIN or not event.actor_id or not event.ip_address:
            continue
        earlier = AuditEvent.objects.filter(
            actor_id=event.actor_id,
            action=Action.LOGIN,
            id__lt=event.pk,
            occurred_at__gte=event.occurred_at - timedelta(days=days),
        )
        if not earlier.exists():
            continue  # the account's first login in the period: nothing to compare with
        if earlier.filter(ip_address=event.ip_address).exists():
            continue
        alerts.append(
            alert_raise(
                kind=Alert.Kind.NEW_IP,
                fingerprint=f"new_ip:{event.pk}",
                subject=_user(event.actor_id),
                detail={"event_id": event.pk, "ip": event.ip_address},
            )
        )
    return alerts


def detect_role_grants(events: list[AuditEvent]) -> list[Alert]:
    """A practice role granted by a person of the provider (it waits for the
    practice's confirmation), and a practice's first manager confirmed by a
    platform admin rather than by the practice (issue 12, defect 13)."""
    alerts = []
    for event in events:
        if event.action != Action.ROLE_CHANGE or event.practice_id is None:
            continue
        detail = event.detail
        if detail.get("change") == "grant" and detail.get("pending"):
            step = "granted"
        elif detail.get("change") == "confirm" and detail.get("by") == "platform":
            step = "confirmed_by_platform"
        else:
            continue
        alerts.append(
            alert_raise(
                kind=Alert.Kind.ROLE_GRANT,
                fingerprint=f"role_grant:{event.pk}",
                practice=event.practice_id,
                subject=_user(int(event.object_id)) if event.object_id.isdigit() else None,
                detail={
                    "event_id": event.pk,
                    "membership": detail.get("membership"),
                    "role": detail.get("role"),
                    "step": step,
                    "by": event.actor_id,
                },
            )
        )
    return alerts


def detect_break_glass(events: list[AuditEvent]) -> list[Alert]:
    """A break-glass access opened (patients.services.break_glass_open): alerted
    under the grant, as it was when the service raised it itself."""
    alerts = []
    for event in events:
        if event.action != Action.BREAK_GLASS or event.practice_id is None:
            continue
        grant = event.detail.get("grant")
        alerts.append(
            alert_raise(
                kind=Alert.Kind.BREAK_GLASS,
                fingerprint=f"break_glass:{grant}",
                practice=event.practice_id,
                subject=_user(event.actor_id),
                detail={"grant": grant, "patient": event.object_id},
            )
        )
    return alerts


def detect_shred_refused(events: list[AuditEvent]) -> list[Alert]:
    """A practice's crypto-shredding refused for want of a hand-over export
    (patients.rotation.shred_practice_key): the practice has not received its
    data. One alert per practice; the daily task's repeated refusals add none."""
    alerts = []
    for event in events:
        if (
            event.action != Action.KEY_OPERATION
            or event.outcome != Outcome.DENIED
            or event.practice_id is None
            or event.detail.get("operation") != "shred"
        ):
            continue
        alerts.append(
            alert_raise(
                kind=Alert.Kind.SHRED_REFUSED,
                fingerprint=f"shred_refused:{event.practice_id}",
                practice=event.practice_id,
                detail={"event_id": event.pk},
            )
        )
    return alerts


def _working_ranges(practice_id: int) -> dict[int, list[tuple]]:
    ranges: dict[int, list[tuple]] = defaultdict(list)
    with practice_scope(practice_id):
        rows = WorkingHours.objects.filter(practice_id=practice_id).values_list(
            "weekday", "start_time", "end_time"
        )
        for weekday, start, end in rows:
            ranges[weekday].append((start, end))
    return ranges


def is_off_hours(moment: datetime, tz: ZoneInfo, ranges: dict[int, list[tuple]]) -> bool:
    """Sunday, night, or (when the practice has working hours) outside them with a margin."""
    local = timezone.localtime(moment, tz)
    if local.weekday() == 6:
        return True
    if local.hour < settings.SUSPICIOUS_NIGHT_END_HOUR or (
        local.hour >= settings.SUSPICIOUS_NIGHT_START_HOUR
    ):
        return True
    if not ranges:
        return False
    margin = timedelta(minutes=settings.SUSPICIOUS_WORKING_HOURS_MARGIN_MINUTES)
    for start, end in ranges.get(local.weekday(), []):
        opens = datetime.combine(local.date(), start, tzinfo=tz) - margin
        closes = datetime.combine(local.date(), end, tzinfo=tz) + margin
        if opens <= local <= closes:
            return False
    return True


def detect_off_hours(events: list[AuditEvent]) -> list[Alert]:
    relevant = [
        e for e in events if e.actor_id and e.practice_id and e.object_type in PATIENT_DATA_TYPES
    ]
    if not relevant:
        return []
    practices = {p.pk: p for p in Practice.objects.filter(pk__in={e.practice_id for e in relevant})}
    ranges = {pk: _working_ranges(pk) for pk in practices}
    alerts = []
    seen: set[str] = set()
    for event in relevant:
        practice = practices.get(event.practice_id)
        if practice is None:
            continue
        tz = ZoneInfo(practice.timezone or settings.TIME_ZONE)
        if not is_off_hours(event.occurred_at, tz, ranges[practice.pk]):
            continue
        day = timezone.localtime(event.occurred_at, tz).date().isoformat()
        fingerprint = f"off_hours:{event.actor_id}:{practice.pk}:{day}"
        if fingerprint in seen:
            continue
        seen.add(fingerprint)
        alerts.append(
            alert_raise(
                kind=Alert.Kind.OFF_HOURS_ACCESS,
                fingerprint=fingerprint,
                practice=practice,
                subject=_user(event.actor_id),
                detail={"event_id": event.pk, "day": day},
            )
        )
    return alerts


def detect_restriction_changes(events: list[AuditEvent]) -> list[Alert]:
    """A restricted record's restriction set, lifted, or refused (issue 12,
    defect 7): who may read a record's notes changed, or someone tried to
    change it (patients.services.patient_set_restricted audits every attempt)."""
    alerts = []
    for event in events:
        if (
            event.action != Action.UPDATE
            or event.object_type != "patient"
            or event.detail.get("change") != "restriction"
        ):
            continue
        alerts.append(
            alert_raise(
                kind=Alert.Kind.RESTRICTION_CHANGE,
                fingerprint=f"restriction_change:{event.pk}",
                practice=event.practice_id,
                subject=_user(event.actor_id),
                severity=Alert.Severity.WARNING
                if event.outcome == Outcome.DENIED
                else Alert.Severity.INFO,
                detail={
                    "event_id": event.pk,
                    "patient": event.object_id,
                    "restricted": bool(event.detail.get("restricted")),
                    "refused": event.outcome == Outcome.DENIED,
                    "by": event.actor_id,
                },
            )
        )
    return alerts


DETECTORS = (
    detect_mass_access,
    detect_off_hours,
    detect_probing,
    detect_lockouts,
    detect_new_ip,
    detect_role_grants,
    detect_break_glass,
    detect_restriction_changes,
    detect_shred_refused,
)


def _user(user_id: int | None):
    return User.objects.filter(pk=user_id).first() if user_id else None


def detect_suspicious_activity(*, now: datetime | None = None) -> dict:
    """One pass: every batch of events since the cursor, each in its own
    transaction holding the cursor row (a concurrent pass skips, it does not wait)."""
    now = now or timezone.now()
    DetectorCursor.objects.get_or_create(name=CURSOR_NAME)
    upper = (
        AuditEvent.objects.filter(occurred_at__lte=now - COMMIT_LAG)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    ) or 0
    totals = {"events": 0, "alerts": 0, "skipped": False}
    while True:
        with transaction.atomic():
            cursor = (
                DetectorCursor.objects.select_for_update(skip_locked=True)
                .filter(name=CURSOR_NAME)
                .first()
            )
            if cursor is None:
                totals["skipped"] = True
                return totals
            events = list(
                AuditEvent.objects.filter(id__gt=cursor.last_event_id, id__lte=upper).order_by(
                    "id"
                )[:BATCH]
            )
            if not events:
                return totals
            for detector in DETECTORS:
                totals["alerts"] += len(detector(events))
            cursor.last_event_id = events[-1].pk
            cursor.save(update_fields=["last_event_id", "updated_at"])
            totals["events"] += len(events)


def detect_stuck_reminders(now: datetime | None = None) -> int:
    """One alert per practice with reminders claimed more than
    Reminder.STUCK_AFTER ago and never confirmed sent, raised again when a newer
    one gets stuck. Counts only: the practice's telesecretaries see which in
    "Rappels à vérifier" and resend or dismiss them. Returns the practices.
    Practice by practice, each under its own scope (row security shows a job no
    other practice's reminders); one indexed count each."""
    now = now or timezone.now()
    raised = 0
    for practice_id in Practice.objects.order_by("pk").values_list("pk", flat=True):
        with practice_scope(practice_id):
            stuck = Reminder.objects.filter(
                practice_id=practice_id,
                status=Reminder.Status.PENDING,
                claimed_at__lte=now - Reminder.STUCK_AFTER,
            ).aggregate(count=Count("id"), newest=Max("claimed_at"))
            if not stuck["count"]:
                continue
            key = f"reminder_stuck:{practice_id}:{stuck['newest'].isoformat()}"
            alert_raise(
                kind=Alert.Kind.REMINDER_STUCK,
                fingerprint=key,
                practice=practice_id,
                detail={"count": stuck["count"]},
            )
            # Those who resend or dismiss them (book_appointment) hear it too.
            notices.notify(
                kind=notices.Kind.REMINDERS_STUCK,
                key=key,
                recipients=notices.practice_staff([practice_id], STUCK_REMINDER_RECIPIENTS),
                practice=practice_id,
                params={"count": stuck["count"]},
            )
            raised += 1
    return raised
