"""Creating, changing and revoking a practitioner's calendar subscription.
Each runs in one transaction with its audit event."""

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from accounts.models import Practice, User
from audit.context import Actor
from audit.models import Action, ObjectType
from audit.services import record_event
from calendarfeed.models import CalendarFeed

SECRET_BYTES = 32


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _audit(feed: CalendarFeed, action: Action, actor: Actor, **detail) -> None:
    record_event(
        actor=actor,
        action=action,
        practice=feed.practice_id,
        object_type=ObjectType.CALENDAR_FEED,
        object_id=feed.pk,
        detail=detail,
    )


def _revoke_live(practice: Practice, practitioner: User, actor: Actor) -> None:
    live = CalendarFeed.objects.select_for_update().filter(
        practice=practice, practitioner=practitioner, revoked_at__isnull=True
    )
    for feed in live:
        feed.revoked_at = timezone.now()
        feed.save(update_fields=["revoked_at"])
        _audit(feed, Action.UPDATE, actor, change="revoked")


@transaction.atomic
def feed_create(
    *, practice: Practice, practitioner: User, show_initials: bool, actor: Actor
) -> tuple[CalendarFeed, str]:
    """A new subscription address; the previous one (if any) stops working.
    Returns the feed and its secret, which is never stored nor shown again."""
    _revoke_live(practice, practitioner, actor)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    feed = CalendarFeed.objects.create(
        practice=practice,
        practitioner=practitioner,
        secret_digest=secret_digest(secret),
        show_initials=show_initials,
    )
    _audit(feed, Action.CREATE, actor, show_initials=show_initials)
    return feed, secret


@transaction.atomic
def feed_revoke(*, practice: Practice, practitioner: User, actor: Actor) -> bool:
    """Revoke the practitioner's live address; False when there was none."""
    existed = CalendarFeed.objects.filter(
        practice=practice, practitioner=practitioner, revoked_at__isnull=True
    ).exists()
    _revoke_live(practice, practitioner, actor)
    return existed


@transaction.atomic
def feed_set_initials(*, feed: CalendarFeed, show_initials: bool, actor: Actor) -> CalendarFeed:
    feed = CalendarFeed.objects.select_for_update().get(practice=feed.practice_id, pk=feed.pk)
    feed.show_initials = show_initials
    feed.save(update_fields=["show_initials"])
    _audit(feed, Action.UPDATE, actor, change="initials", show_initials=show_initials)
    return feed
