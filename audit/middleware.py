from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from audit.models import Action, Outcome
from audit.services import record_event


class DeniedAccessAuditMiddleware:
    """Records a 403/404 raised by a view for a logged-in user, in its own
    transaction (views run their writes in atomic blocks that have already rolled
    back when the exception reaches us), so that probing leaves a trace."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not isinstance(exception, Http404 | PermissionDenied):
            return None
        if not request.user.is_authenticated:
            return None
        match = request.resolver_match
        record_event(
            actor=request.actor,
            action=Action.PERMISSION_DENIED,
            outcome=Outcome.DENIED,
            object_type="url",
            object_id=match.view_name if match else "",
            detail={"status": 404 if isinstance(exception, Http404) else 403},
        )
        return None
