from django.http import HttpRequest
from django.shortcuts import redirect

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
        if not training_status(request.user).blocked:
            return None
        record_event(
            action=Action.PERMISSION_DENIED,
            request=request,
            outcome=Outcome.DENIED,
            object_type="url",
            object_id=request.resolver_match.view_name if request.resolver_match else "",
            detail={"reason": "training_overdue"},
        )
        return redirect("continuity:training_required")
