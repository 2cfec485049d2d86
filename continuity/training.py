"""Training status of staff: derived from the sessions they attended."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Max
from django.utils import timezone

from accounts.models import Membership, User


@dataclass(frozen=True)
class TrainingStatus:
    user: User
    last_trained: date | None
    due: date
    blocked_after: date
    today: date

    @property
    def overdue(self) -> bool:
        return self.today > self.due

    @property
    def blocked(self) -> bool:
        return self.today > self.blocked_after


def _status(user: User, last: date | None, today: date) -> TrainingStatus:
    # Never trained: due from the day the account was created, or from the day
    # training tracking started for accounts older than that (then the grace period).
    if last is not None:
        due = last + timedelta(days=settings.TRAINING_VALIDITY_DAYS)
    else:
        due = timezone.localdate(user.date_joined)
        if settings.TRAINING_TRACKING_START and settings.TRAINING_TRACKING_START > due:
            due = settings.TRAINING_TRACKING_START
    blocked_after = due + timedelta(days=settings.TRAINING_GRACE_DAYS)
    return TrainingStatus(user, last, due, blocked_after, today)


def training_status(user: User, today: date | None = None) -> TrainingStatus:
    last = user.training_sessions.aggregate(last=Max("date"))["last"]
    return _status(user, last, today or timezone.localdate())


def staff_statuses(today: date | None = None) -> list[TrainingStatus]:
    """Every active user holding an active role, most overdue first (one query)."""
    today = today or timezone.localdate()
    active_ids = Membership.objects.active().values("user_id")
    users = (
        User.objects.filter(is_active=True, pk__in=active_ids)
        .annotate(last_trained=Max("training_sessions__date"))
        .order_by("last_name", "first_name", "username")
    )
    statuses = [_status(user, user.last_trained, today) for user in users]
    return sorted(statuses, key=lambda status: status.due)


def overdue_statuses(today: date | None = None) -> list[TrainingStatus]:
    return [status for status in staff_statuses(today) if status.overdue]


# A user in good standing stays so until a known date: that date is cached (an
# hour at most, so a changed setting applies soon), and practice pages then cost
# no query. A blocked user is never cached: recorded training lifts the block
# on the next request.
_CACHE_SECONDS = 3600


def _cache_key(user_id: int) -> str:
    return f"continuity:training-ok-until:{user_id}"


def training_blocks(user: User) -> bool:
    """Whether the user's overdue training closes practice pages to them."""
    today = timezone.localdate()
    cached = cache.get(_cache_key(user.pk))
    if cached is not None and today <= date.fromisoformat(cached):
        return False
    status = training_status(user, today)
    if not status.blocked:
        cache.set(_cache_key(user.pk), status.blocked_after.isoformat(), _CACHE_SECONDS)
    return status.blocked
