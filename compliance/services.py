"""State changes of the compliance app (`<entity>_<action>`, keyword-only)."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from accounts.models import User
from accounts.roles import Role
from audit.context import Actor
from audit.models import Action
from audit.services import named_detail, record_event
from compliance import notices
from compliance.models import DEFAULT_SEVERITY, Alert, DataKind, RetentionPolicy
from compliance.retention import RULES

# ---------------------------------------------------------------- alerts


def alert_raise(
    *,
    kind: str,
    fingerprint: str,
    detail: dict,
    practice=None,
    subject: User | None = None,
    severity: str | None = None,
) -> Alert:
    """Record the alert once per fingerprint (a second call returns the existing
    row) and notify the active compliance officers, in the alert's transaction."""
    existing = Alert.objects.filter(fingerprint=fingerprint).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                kind=kind,
                severity=severity or DEFAULT_SEVERITY.get(kind, Alert.Severity.WARNING),
                fingerprint=fingerprint,
                # Identifiers and counts only, with the audit trail's rules.
                detail=named_detail(detail),
                practice_id=getattr(practice, "pk", practice),
                subject=subject,
                notified_at=timezone.now(),
            )
            notices.notify(
                kind=notices.Kind.ALERT,
                key=f"alert:{alert.pk}",
                recipients=notices.provider_staff(Role.COMPLIANCE_OFFICER),
                practice=alert.practice_id,
                params={
                    "alert": alert.pk,
                    "alert_kind": alert.kind,
                    "severity": alert.severity,
                    "detail": alert.detail,
                },
            )
    except IntegrityError:
        # Raised meanwhile by a concurrent run.
        return Alert.objects.get(fingerprint=fingerprint)
    return alert


@transaction.atomic
def alert_acknowledge(*, alert: Alert, actor: Actor, comment: str) -> Alert:
    """Acknowledge once; a second acknowledgement changes nothing (and is not audited)."""
    if not comment.strip():
        raise ValueError("an acknowledgement needs a comment")
    locked = Alert.objects.select_for_update().get(pk=alert.pk)
    if locked.acknowledged_at is not None:
        return locked
    locked.acknowledged_by = actor.user
    locked.acknowledged_at = timezone.now()
    locked.comment = comment.strip()
    locked.save(update_fields=["acknowledged_by", "acknowledged_at", "comment"])
    record_event(
        actor=actor,
        action=Action.UPDATE,
        practice=None,
        object_type="compliance_alert",
        object_id=locked.pk,
        detail={"acknowledged": True, "kind": locked.kind},
    )
    return locked


# ---------------------------------------------------------------- retention


def retention_bounds_error(kind: str, days: int) -> str | None:
    """The French message when `days` is outside the allowed bounds, else None."""
    rule = RULES[kind]
    if rule.min_days <= days <= rule.max_days:
        return None
    return _(
        "La durée de conservation « %(kind)s » doit être comprise entre %(min)d et %(max)d jours."
    ) % {"kind": DataKind(kind).label, "min": rule.min_days, "max": rule.max_days}


@transaction.atomic
def retention_policy_set(*, practice, kind: str, days: int, actor: Actor) -> RetentionPolicy:
    """Set one policy within its bounds (ValidationError otherwise); audited when it changes."""
    error = retention_bounds_error(kind, days)
    if error:
        raise ValidationError(error)
    with scopes_disabled():
        policy = (
            RetentionPolicy.objects.select_for_update().filter(practice=practice, kind=kind).first()
        )
        previous = policy.days if policy else None
        if policy is None:
            policy = RetentionPolicy(practice=practice, kind=kind, days=days, updated_by=actor.user)
            policy.save()
        elif policy.days != days:
            policy.days = days
            policy.updated_by = actor.user
            policy.save(update_fields=["days", "updated_by", "updated_at"])
    if previous != days:
        record_event(
            actor=actor,
            action=Action.UPDATE,
            practice=practice,
            object_type="retention_policy",
            object_id=policy.pk,
            detail={"kind": kind, "days": days, "previous": previous},
        )
    return policy
