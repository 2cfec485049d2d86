import uuid
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.sessions import session_touch

SESSION_STARTED = "policy_started_at"
SESSION_LAST_SEEN = "policy_last_seen"


class RequestIdMiddleware:
    """A reference for each request, shown on error pages and written in audit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        request.request_id = uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


def start_session_clock(request: HttpRequest) -> None:
    now = timezone.now().isoformat()
    request.session[SESSION_STARTED] = now
    request.session[SESSION_LAST_SEEN] = now


def _session_expired(request: HttpRequest) -> str | None:
    now = timezone.now()
    started = request.session.get(SESSION_STARTED)
    last_seen = request.session.get(SESSION_LAST_SEEN)
    if not started or not last_seen:
        return "unverified"
    if now - datetime.fromisoformat(started) > settings.SESSION_ABSOLUTE_LIFETIME:
        return "absolute"
    if now - datetime.fromisoformat(last_seen) > settings.SESSION_IDLE_TIMEOUT:
        return "idle"
    return None


class SessionPolicyMiddleware:
    """Idle timeout and absolute lifetime, enforced on the server; a session that
    is logged in but did not pass the TOTP step is ended."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        user = request.user
        if user.is_authenticated:
            reason = _session_expired(request) or (None if user.is_verified() else "unverified")
            if reason is None and not session_touch(request):
                reason = "ended"
            if reason:
                return self._end(request, reason)
            request.session[SESSION_LAST_SEEN] = timezone.now().isoformat()
        return self.get_response(request)

    def _end(self, request: HttpRequest, reason: str):
        from audit.models import Action
        from audit.services import record_event

        record_event(actor=request.actor, action=Action.SESSION_EXPIRED, detail={"reason": reason})
        logout(request)
        messages.warning(request, _("Votre session a expiré. Veuillez vous reconnecter."))
        return redirect(settings.LOGIN_URL)
