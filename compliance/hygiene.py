"""Account hygiene: stale accounts deactivated, ended memberships revoked, and
the access review (confirm or revoke each membership, recorded per campaign)."""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Membership, User
from accounts.roles import Role
from accounts.services import membership_revoke
from accounts.sessions import sessions_end
from audit.context import Actor
from audit.models import Action
from audit.services import record_event
from compliance import notices
from compliance.models import AccessReviewCampaign, AccessReviewDecision

BATCH = 500
HYGIENE = Actor.system("account_hygiene")


def stale_accounts(now: datetime | None = None):
    """Active accounts not used for ACCOUNT_STALE_DAYS: last login, or the date
    joined when never logged in. Superusers (the operators' emergency accounts,
    reviewed outside the application) are left alone."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.ACCOUNT_STALE_DAYS)
    return User.objects.filter(is_active=True, is_superuser=False).filter(
        Q(last_login__lt=cutoff) | Q(last_login__isnull=True, date_joined__lt=cutoff)
    )


def accounts_deactivate_stale(*, now: datetime | None = None) -> int:
    """Deactivate each stale account under its row lock (a concurrent run skips
    it), end its sessions and audit it; in batches, each user its own transaction."""
    count = 0
    ids = list(stale_accounts(now).order_by("pk").values_list("pk", flat=True)[:BATCH])
    for user_id in ids:
        with transaction.atomic():
            user = (
                stale_accounts(now).select_for_update(skip_locked=True).filter(pk=user_id).first()
            )
            if user is None:
                continue
            user.is_active = False
            user.save(update_fields=["is_active"])
            ended = sessions_end(user=user)
            record_event(
                action=Action.UPDATE,
                actor=HYGIENE,
                object_type="user",
                object_id=user.pk,
                detail={
                    "deactivated": True,
                    "reason": "stale",
                    "days": settings.ACCOUNT_STALE_DAYS,
                    "sessions_ended": ended,
                },
            )
            count += 1
    return count


def memberships_expire(*, today=None) -> int:
    """Revoke (group membership removed, audited) every membership past its end date."""
    today = today or timezone.localdate()
    count = 0
    ids = list(
        Membership.objects.filter(ends_on__lt=today)
        .order_by("pk")
        .values_list("pk", flat=True)[:BATCH]
    )
    for membership_id in ids:
        with transaction.atomic():
            membership = (
                Membership.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("user", "practice")
                .filter(pk=membership_id, ends_on__lt=today)
                .first()
            )
            if membership is None:
                continue
            membership_revoke(membership=membership, actor=HYGIENE)
            count += 1
    return count


def open_campaign() -> AccessReviewCampaign | None:
    return AccessReviewCampaign.objects.filter(closed_at__isnull=True).first()


@transaction.atomic
def campaign_start(*, actor: Actor) -> AccessReviewCampaign:
    # One open campaign at a time: the lock on the table's open rows orders starts.
    existing = AccessReviewCampaign.objects.select_for_update().filter(closed_at__isnull=True)
    campaign = existing.first()
    if campaign is not None:
        return campaign
    campaign = AccessReviewCampaign.objects.create(started_by=actor.user)
    record_event(
        actor=actor, action=Action.CREATE, object_type="access_review", object_id=campaign.pk
    )
    return campaign


@transaction.atomic
def campaign_close(*, campaign: AccessReviewCampaign, actor: Actor) -> AccessReviewCampaign:
    locked = AccessReviewCampaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.closed_at is None:
        locked.closed_at = timezone.now()
        locked.save(update_fields=["closed_at"])
        record_event(
            actor=actor,
            action=Action.UPDATE,
            object_type="access_review",
            object_id=locked.pk,
            detail={"closed": True, "decisions": locked.decisions.count()},
        )
    return locked


class AlreadyDecided(Exception):
    pass


@transaction.atomic
def membership_review(
    *,
    campaign: AccessReviewCampaign,
    membership: Membership,
    decision: str,
    actor: Actor,
) -> AccessReviewDecision:
    """Confirm or revoke one membership within the campaign (once per campaign)."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    try:
        with transaction.atomic():
            row = AccessReviewDecision.objects.create(
                campaign=campaign,
                membership_id=membership.pk,
                user_id=membership.user_id,
                practice_id=membership.practice_id,
                role=membership.role,
                decision=decision,
                decided_by=actor.user,
            )
    except IntegrityError:
        raise AlreadyDecided from None
    if decision == AccessReviewDecision.Decision.REVOKE:
        membership_revoke(membership=membership, actor=actor)
    else:
        record_event(
            actor=actor,
            action=Action.UPDATE,
            practice=membership.practice_id,
            object_type="membership",
            object_id=membership.pk,
            detail={"review": campaign.pk, "decision": decision, "user": membership.user_id},
        )
    # The person concerned learns it, whatever the decision (addressed to them,
    # not to the role: a revoked role must not hide its own notice).
    notices.notify(
        kind=notices.Kind.ROLE_REVIEWED,
        key=f"access_review:{campaign.pk}:membership:{membership.pk}",
        recipients=[notices.Recipient(membership.user)],
        practice=membership.practice_id,
        params={"role": membership.role, "decision": decision, "review": campaign.pk},
    )
    return row


def access_review_due_notify(*, today: date | None = None) -> int:
    """Remind the compliance officers, once a week, while no access review has
    started within ACCESS_REVIEW_INTERVAL_DAYS. Returns the notices made."""
    today = today or timezone.localdate()
    interval = settings.ACCESS_REVIEW_INTERVAL_DAYS
    last = AccessReviewCampaign.objects.order_by("-started_at").first()
    if last is not None and timezone.localdate(last.started_at) + timedelta(days=interval) > today:
        return 0
    with transaction.atomic():
        made = notices.notify(
            kind=notices.Kind.ACCESS_REVIEW_DUE,
            key=f"access_review_due:{notices.iso_week(today)}",
            recipients=notices.provider_staff(Role.COMPLIANCE_OFFICER),
            params={
                "last_started": timezone.localdate(last.started_at).isoformat() if last else None,
                "interval_days": interval,
            },
        )
    return len(made)
