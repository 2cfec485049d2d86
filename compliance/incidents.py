"""Breach incidents (GDPR art. 33/34): declaration, notices to the practices'
staff and deadline reminders to the compliance officers (compliance/notices.py:
in the application, and e-mailed), patient notices. A patient's e-mail goes out
from a task, handed over through the transactional outbox (outbox/services.py)
in the transaction that decided it, through `notify_once`, which records a
Notification under a unique key first."""

import logging
import uuid
from collections import Counter
from datetime import datetime, timedelta

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from accounts.models import Practice, User
from accounts.roles import Role
from accounts.scoping import practice_scope
from audit.context import Actor
from audit.models import Action
from audit.services import record_event
from compliance import incident_texts, notices
from compliance.models import BreachIncident, Notification, PatientNotification
from outbox import services as outbox
from patients.models import Patient
from secretariat import inputs

logger = logging.getLogger(__name__)

MAIL_PATIENT = "compliance.tasks.patient_notification_mail"
REMINDER_HOURS = (48, 66)
# Who hears of a breach in their practice.
PRACTICE_RECIPIENTS = (Role.PRACTICE_MANAGER, Role.PRACTITIONER)
INCIDENT_FIELDS = (
    "detected_at",
    "nature",
    "data_categories",
    "people_categories",
    "approx_people",
    "approx_records",
    "likely_consequences",
    "measures_taken",
    "patient_advice",
)
INCIDENT_TEXT_FIELDS = (
    "nature",
    "data_categories",
    "people_categories",
    "likely_consequences",
    "measures_taken",
    "patient_advice",
)


class BreachNoticeError(Exception):
    """A patient notice that cannot go out as it stands (French message)."""


def notify_once(
    *,
    key: str,
    address: str,
    subject: str,
    body: str,
    recipient: User | None = None,
    incident=None,
) -> bool:
    """Record under `key`, then send. Returns False when already recorded (sent,
    or being sent by a concurrent run). A send that fails removes its record and
    raises, so the task's retry sends it; a worker lost between the record and the
    send leaves a record without `sent_at`, never a second mail. Call outside a
    transaction (from a task)."""
    if not address:
        return False
    try:
        with transaction.atomic():
            note = Notification.objects.create(key=key, recipient=recipient, incident=incident)
    except IntegrityError:
        return False
    try:
        send_mail(subject, body, None, [address])
    except Exception:
        Notification.objects.filter(pk=note.pk).delete()
        raise
    Notification.objects.filter(pk=note.pk).update(sent_at=timezone.now())
    return True


def _clean_patient_ids(values) -> list[str]:
    return sorted({str(value).strip() for value in values or [] if str(value).strip()})


@transaction.atomic
def incident_declare(
    *,
    actor: Actor,
    practices: list[Practice],
    patient_ids: list[str] | None = None,
    **fields,
) -> BreachIncident:
    """Record the incident, draft a notice per affected patient of the affected
    practices (unknown ids ignored), and notify the practices after commit."""
    if "detected_at" in fields:
        inputs.PAST.check(fields["detected_at"])
    inputs.check_text(*(fields.get(name) or "" for name in INCIDENT_TEXT_FIELDS), multiline=True)
    incident = BreachIncident(
        created_by=actor.user, **{k: fields[k] for k in INCIDENT_FIELDS if k in fields}
    )
    incident.save()
    incident.practices.set(practices)
    drafts = _draft_patient_notifications(incident, practices, _clean_patient_ids(patient_ids))
    record_event(
        actor=actor,
        action=Action.CREATE,
        practice=None,
        object_type="breach_incident",
        object_id=incident.pk,
        detail={"practices": [p.pk for p in practices], "patient_notifications": drafts},
    )
    _notify_practices(incident, [p.pk for p in practices])
    return incident


def _notify_practices(incident: BreachIncident, practice_ids: list[int]) -> int:
    """Tell the managers and practitioners of these practices (once each per
    practice), with the number of patient notices their practice has to send."""
    with scopes_disabled():
        drafts = Counter(
            PatientNotification.objects.filter(
                incident=incident, practice_id__in=practice_ids
            ).values_list("practice_id", flat=True)
        )
    made = 0
    for practice_id in practice_ids:
        made += len(
            notices.notify(
                kind=notices.Kind.BREACH_DECLARED,
                key=f"breach:{incident.pk}:practice:{practice_id}",
                recipients=notices.practice_staff([practice_id], PRACTICE_RECIPIENTS),
                practice=practice_id,
                params={
                    "incident": incident.pk,
                    "detected_at": incident.detected_at.isoformat(),
                    "patient_notices": drafts.get(practice_id, 0),
                },
            )
        )
    return made


def _draft_patient_notifications(incident, practices, patient_ids: list[str]) -> int:
    if not patient_ids:
        return 0
    valid = []
    for value in patient_ids:
        try:
            valid.append(uuid.UUID(value))
        except ValueError:
            continue
    found = []
    # Patients are practice data: looked up practice by practice, each under its
    # own scope (row security shows nothing else).
    for practice in practices:
        with practice_scope(practice):
            found += Patient.objects.filter(pk__in=valid, practice=practice).values_list(
                "pk", "practice_id"
            )
    rows = [
        PatientNotification(practice_id=practice_id, incident=incident, patient_id=pk)
        for pk, practice_id in found
    ]
    with scopes_disabled():
        PatientNotification.objects.bulk_create(rows, ignore_conflicts=True)
    incident.patient_ids = [str(pk) for pk, _practice in found]
    incident.save(update_fields=["patient_ids"])
    return len(rows)


@transaction.atomic
def incident_update(
    *, incident: BreachIncident, actor: Actor, practices, **fields
) -> BreachIncident:
    locked = BreachIncident.objects.select_for_update().get(pk=incident.pk)
    for name in INCIDENT_FIELDS:
        if name in fields:
            setattr(locked, name, fields[name])
    locked.save()
    added = set(p.pk for p in practices) - set(locked.practices.values_list("pk", flat=True))
    locked.practices.set(practices)
    record_event(
        actor=actor,
        action=Action.UPDATE,
        practice=None,
        object_type="breach_incident",
        object_id=locked.pk,
        detail={"practices": sorted(p.pk for p in practices)},
    )
    if added:
        _notify_practices(locked, sorted(added))
    return locked


@transaction.atomic
def incident_mark_authority_notified(
    *, incident: BreachIncident, actor: Actor, at: datetime | None = None
) -> BreachIncident:
    locked = BreachIncident.objects.select_for_update().get(pk=incident.pk)
    if locked.authority_notified_at is None:
        locked.authority_notified_at = at or timezone.now()
        locked.status = BreachIncident.Status.AUTHORITY_NOTIFIED
        locked.save(update_fields=["authority_notified_at", "status"])
        record_event(
            actor=actor,
            action=Action.UPDATE,
            object_type="breach_incident",
            object_id=locked.pk,
            detail={"authority_notified": True},
        )
    return locked


def breach_deadline_reminders(*, now: datetime | None = None) -> int:
    """Remind the compliance officers at 48 h and 66 h while the authority is not
    notified: only the latest threshold passed, so an incident declared late
    (already past 66 h) reminds once, not twice at once. Returns the notices made."""
    now = now or timezone.now()
    pending = BreachIncident.objects.filter(
        authority_notified_at__isnull=True,
        status=BreachIncident.Status.OPEN,
        detected_at__gte=now - timedelta(days=30),
        detected_at__lte=now - timedelta(hours=min(REMINDER_HOURS)),
    )
    officers = notices.provider_staff(Role.COMPLIANCE_OFFICER)
    made = 0
    for incident in pending:
        hours = max(h for h in REMINDER_HOURS if now >= incident.detected_at + timedelta(hours=h))
        with transaction.atomic():
            made += len(
                notices.notify(
                    kind=notices.Kind.BREACH_DEADLINE,
                    key=f"breach:{incident.pk}:reminder:{hours}h",
                    recipients=officers,
                    params={
                        "incident": incident.pk,
                        "hours": hours,
                        "deadline": incident.deadline.isoformat(),
                    },
                )
            )
    return made


def patient_notification_preview(
    *, notification: PatientNotification
) -> tuple[incident_texts.NoticeText, list[str]]:
    """The text as the patient will read it (the frozen one once sent), and what
    art. 34 still lacks before it may be sent."""
    practice = Practice.objects.get(pk=notification.practice_id)
    if notification.status == PatientNotification.Status.SENT:
        return incident_texts.NoticeText(notification.subject, notification.body), []
    incident = notification.incident
    return (
        incident_texts.patient_notice(incident, practice),
        incident_texts.missing_for_patient(incident, practice),
    )


def patient_notification_send(
    *, notification: PatientNotification, actor: Actor
) -> PatientNotification:
    """Approve and send one patient notice (once): its text is frozen as read in
    the preview, recorded as sent, and e-mailed by a task when the patient has an
    address. Refused (BreachNoticeError, nothing written) while art. 34's content
    is incomplete."""
    with transaction.atomic():
        locked = PatientNotification.objects.select_for_update().get(pk=notification.pk)
        if locked.status == PatientNotification.Status.SENT:
            return locked
        text, missing = patient_notification_preview(notification=locked)
        if missing:
            raise BreachNoticeError(
                _("Information incomplète, non envoyée : il manque %(missing)s.")
                % {"missing": ", ".join(missing)}
            )
        locked.status = PatientNotification.Status.SENT
        locked.approved_by = actor.user
        locked.sent_at = timezone.now()
        locked.subject, locked.body = text.subject, text.body
        patient = Patient.objects.get(pk=locked.patient_id)
        locked.emailed = bool(patient.read("email").strip())
        locked.save(
            update_fields=["status", "approved_by", "sent_at", "emailed", "subject", "body"]
        )
        record_event(
            actor=actor,
            action=Action.UPDATE,
            practice=locked.practice_id,
            object_type="patient_breach_notification",
            object_id=locked.pk,
            detail={"patient": str(locked.patient_id), "emailed": locked.emailed},
        )
        if locked.emailed:
            outbox.enqueue(MAIL_PATIENT, practice_id=locked.practice_id, notification_id=locked.pk)
    return locked


def patient_notification_mail(*, notification_id: int) -> bool:
    """E-mail an approved patient notice, once (in the practice's scope): the
    text frozen at approval."""
    notice = PatientNotification.objects.filter(
        pk=notification_id, status=PatientNotification.Status.SENT
    ).first()
    if notice is None or not notice.body:
        return False
    email = Patient.objects.get(pk=notice.patient_id).read("email").strip()
    return notify_once(
        key=f"breach:{notice.incident_id}:patient_notice:{notice.pk}",
        address=email,
        subject=notice.subject,
        body=notice.body,
        incident=notice.incident,
    )


def authority_notice_text(*, incident: BreachIncident) -> str:
    """The art. 33 notification pre-filled from the register."""
    with scopes_disabled():
        statuses = list(
            PatientNotification.objects.filter(incident=incident).values_list("status", flat=True)
        )
    sent = statuses.count(PatientNotification.Status.SENT)
    return incident_texts.authority_notice(incident, drafted=len(statuses), sent=sent)
