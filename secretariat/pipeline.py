"""The access pipeline: what a request passes before a view, in this order.

`settings.MIDDLEWARE` lists the middlewares; this is the one place that says
what they decide and why the order matters (`tests/test_pipeline.py` checks it):

0. `HealthMiddleware` (secretariat/health.py) answers the load balancer's
   liveness and readiness probes before anything else: before the host check
   and the HTTPS redirect (a probe comes by address over plain HTTP), and
   before a session or an audit event could be written for it.
1. `RequestIdMiddleware` gives the request its reference (error pages, audit).
2. The session (Django's, but a failed save after the view never replaces its
   answer: accounts/sessions.py), authentication and django-otp's verification.
3. `ActorMiddleware` builds `request.actor`.
4. `SessionPolicyMiddleware` ends a session that is idle, too old, ended
   elsewhere, or logged in without its TOTP step (accounts/sessions.py).
5. Django's `LoginRequiredMiddleware`: anonymous requests go to the login page,
   except views marked `login_not_required`.
6. `AccessGateMiddleware`, below, for a logged-in user, in order:
   a. the charter: no page but the exempt ones (login, enrolment, the charter
      itself, logout) until the current confidentiality agreement is accepted;
   b. the practice: `/p/<practice>/…` is resolved against the user's active
      memberships — 404 when there is none, exactly like a practice that does not
      exist, and audited — and its scope is entered for the rest of the request;
   c. the training: practice pages are refused while the user's security
      training is overdue past its grace period;
   d. the view's own permission decorator (accounts/permissions.py) checks the
      role and sets the acting role on `request.actor`;
   e. a 403 or 404 raised by the view is audited, so that probing leaves a trace.

The gates run in the middleware's call, on the resolved URL, rather than in
`process_view`: a scope must wrap the view *and* the rendering of its response.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, ResolverMatch, resolve

from accounts import selectors
from accounts.scoping import practice_scope
from audit.models import Action, ObjectType, Outcome
from audit.services import record_event
from continuity.training import training_blocks


class AccessGateMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.practice = None
        request.practice_access = None
        match = _resolve(request)
        if match is None or not request.user.is_authenticated:
            return self.get_response(request)
        if _agreement_missing(request, match):
            return redirect("accounts:agreement")
        slug = match.kwargs.get("practice")
        if slug is None:
            return self.get_response(request)
        _enter_practice(request, slug)
        with practice_scope(request.practice):
            if training_blocks(request.user):
                return _training_refused(request, match)
            return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, Http404 | PermissionDenied) and request.user.is_authenticated:
            match = request.resolver_match
            record_event(
                actor=request.actor,
                action=Action.PERMISSION_DENIED,
                outcome=Outcome.DENIED,
                object_type=ObjectType.URL,
                object_id=match.view_name if match else "",
                detail={"status": 404 if isinstance(exception, Http404) else 403},
            )


def _resolve(request: HttpRequest) -> ResolverMatch | None:
    try:
        return resolve(request.path_info)
    except Resolver404:
        return None


def _agreement_missing(request: HttpRequest, match: ResolverMatch) -> bool:
    if getattr(match.func, "agreement_exempt", False):
        return False
    return selectors.agreement_missing(request.user)


def _enter_practice(request: HttpRequest, slug: str) -> None:
    access = selectors.practice_access(request.user, slug)
    if access is None:
        record_event(
            actor=request.actor,
            action=Action.PERMISSION_DENIED,
            outcome=Outcome.DENIED,
            object_type=ObjectType.PRACTICE,
            detail={"status": 404},
        )
        raise Http404
    request.practice = access.practice
    request.practice_access = access
    request.actor = request.actor.in_practice(access.practice)


def _training_refused(request: HttpRequest, match: ResolverMatch) -> HttpResponse:
    record_event(
        actor=request.actor,
        action=Action.PERMISSION_DENIED,
        outcome=Outcome.DENIED,
        object_type=ObjectType.URL,
        object_id=match.view_name,
        detail={"reason": "training_overdue"},
    )
    return redirect("continuity:training_required")
