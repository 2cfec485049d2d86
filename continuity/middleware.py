from datetime import date

from django.core.cache import cache
from django.http import HttpRequest
from django.shortcuts import redirect
from django.utils import timezone

from audit.models import Action, Outcome
from audit.services import record_event
from continuity.training import training_status


class TrainingGateMiddleware:
    """Practice data pages (/p/<practice>/...) only for users whose security
    training is not overdue past the grace period. Runs after
    PracticeScopeMiddleware: a non-member has already had a 404."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if "practice" not in view_kwargs or not request.user.is_authenticated:
            return None
        if getattr(request, "practice", None) is None:
            return None
        if not _blocked(request.user):
            return None
        record_event(
            actor=request.actor,
            action=Action.PERMISSION_DENIED,
            outcome=Outcome.DENIED,
            object_type="url",
            object_id=request.resolver_match.view_name if request.resolver_match else "",
            detail={"reason": "training_overdue"},
        )
        return redirect("continuity:training_required")


# A user in good standing stays so until a known date: that date is cached (an
# hour at most, so a changed setting applies soon), and practice pages then cost
# no query. A blocked user is never cached: recorded training lifts the block
# on the next request.
_CACHE_SECONDS = 3600


def _cache_key(user_id: int) -> str:
    return f"continuity:training-ok-until:{user_id}"


def _blocked(user) -> bool:
    today = timezone.localdate()
    cached = cache.get(_cache_key(user.pk))
    if cached is not None and today <= date.fromisoformat(cached):
        return False
    status = training_status(user, today)
    if not status.blocked:
        cache.set(_cache_key(user.pk), status.blocked_after.isoformat(), _CACHE_SECONDS)
    return status.blocked
