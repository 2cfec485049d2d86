from django.http import Http404, HttpRequest
from django.shortcuts import redirect
from django.urls import Resolver404, resolve

from accounts import selectors
from accounts.scoping import practice_scope
from audit.context import Actor
from audit.models import Action, Outcome
from audit.services import record_event


class ActorMiddleware:
    """Who is acting: `request.actor`, built once here and completed by the
    tenant middleware (practice) and the permission decorators (acting role).
    Services take it instead of the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        request.actor = Actor.from_request(request)
        return self.get_response(request)


class PracticeScopeMiddleware:
    """Resolves /p/<practice>/... against the user's active memberships (404 when
    there is none, exactly like a practice that does not exist) and runs the rest
    of the request inside that practice's scope."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        request.practice = None
        request.practice_access = None
        slug = _practice_slug(request)
        if slug is None or not request.user.is_authenticated:
            return self.get_response(request)
        access = selectors.practice_access(request.user, slug)
        if access is None:
            record_event(
                actor=request.actor,
                action=Action.PERMISSION_DENIED,
                outcome=Outcome.DENIED,
                object_type="practice",
                detail={"status": 404},
            )
            raise Http404
        request.practice = access.practice
        request.practice_access = access
        request.actor = request.actor.in_practice(access.practice)
        with practice_scope(access.practice):
            return self.get_response(request)


def _practice_slug(request: HttpRequest) -> str | None:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    return match.kwargs.get("practice")


def agreement_exempt(view):
    view.agreement_exempt = True
    return view


class AgreementGateMiddleware:
    """No page but login, enrolment and the charter itself before the current
    confidentiality agreement is accepted, within the last AGREEMENT_VALIDITY_DAYS
    (an acceptance older than a year counts as missing: see selectors.has_accepted)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if getattr(view_func, "agreement_exempt", False) or not request.user.is_authenticated:
            return None
        agreement = selectors.current_agreement()
        if agreement is None or selectors.has_accepted(request.user, agreement):
            return None
        return redirect("accounts:agreement")
