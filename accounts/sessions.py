"""Sessions: the policy (idle timeout, absolute lifetime, TOTP step done),
enforced on the server on every request, and the live sessions of a user,
registered at login and ended from anywhere (the user's own page, a device
reset, a deactivation)."""

import logging
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.contrib.sessions.models import Session
from django.db import DatabaseError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _

from accounts.models import User, UserSession
from audit.models import Action
from audit.services import record_event
from secretariat.net import client_ip

logger = logging.getLogger(__name__)

SESSION_STARTED = "policy_started_at"
SESSION_LAST_SEEN = "policy_last_seen"
# The idle clock is written back at most this often, so that most requests leave
# the session unchanged and unsaved. The stored time is never later than the real
# last request, so a session can only expire earlier than the idle timeout, never later.
SESSION_LAST_SEEN_STEP = timedelta(minutes=1)


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's, except that a session that cannot be saved at the end of the
    request does not replace the view's answer. By then the view's writes are
    committed: answering 400 (Django's `SessionInterrupted`, e.g. the session was
    ended from another tab) or 500 would report a booking that exists as a failure.
    The browser keeps its old cookie: a session that no longer exists loads empty
    (the next page asks to log in), one that does loads as it was last saved."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        try:
            return super().process_response(request, response)
        except (SessionInterrupted, DatabaseError) as error:
            # The error's type only: nothing of the session in the logs.
            logger.warning("session not saved after the request: %s", type(error).__name__)
            patch_vary_headers(response, ("Cookie",))
            return response


class SessionPolicyMiddleware:
    """Idle timeout and absolute lifetime, enforced on the server; a session that
    is logged in but did not pass the TOTP step is ended."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            reason = _session_expired(request) or (None if user.is_verified() else "unverified")
            if reason is None and _idle_clock_due(request) and not session_touch(request):
                reason = "ended"
            if reason:
                return _end(request, reason)
            _touch_idle_clock(request)
        return self.get_response(request)


def start_session_clock(request: HttpRequest) -> None:
    now = timezone.now().isoformat()
    request.session[SESSION_STARTED] = now
    request.session[SESSION_LAST_SEEN] = now


def _idle_clock_due(request: HttpRequest) -> bool:
    """The idle clock and the `UserSession` activity stamp are written back
    together, at most once per SESSION_LAST_SEEN_STEP: most requests then write
    nothing. Between two stamps a session ended elsewhere is still refused at
    once, because ending it deletes its `Session` row too (sessions_end,
    session_end, logout): the request loads no user."""
    last_seen = datetime.fromisoformat(request.session[SESSION_LAST_SEEN])
    return timezone.now() - last_seen >= SESSION_LAST_SEEN_STEP


def _touch_idle_clock(request: HttpRequest) -> None:
    if _idle_clock_due(request):
        request.session[SESSION_LAST_SEEN] = timezone.now().isoformat()


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


def _end(request: HttpRequest, reason: str) -> HttpResponse:
    record_event(actor=request.actor, action=Action.SESSION_EXPIRED, detail={"reason": reason})
    back = return_path(request)
    logout(request)
    messages.warning(request, _("Votre session a expiré. Veuillez vous reconnecter."))
    login_url = resolve_url(settings.LOGIN_URL)
    if back:
        login_url += "?" + urlencode({"next": back})
    if request.headers.get("HX-Request") == "true":
        # An htmx request (the call console): the whole page goes to the login,
        # not the login page into the console's panel.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = login_url
        return response
    return redirect(login_url)


def return_path(request: HttpRequest) -> str:
    """The page to return to after logging in again (issue 14 item 6): the page
    an htmx request was made from, the page itself for a GET, else none (a POST
    is not replayed). Only a path of this site is kept."""
    if request.headers.get("HX-Request") == "true":
        target = urlsplit(request.headers.get("HX-Current-URL", ""))
        if target.netloc and target.netloc != request.get_host():
            return ""
        path = target.path + (f"?{target.query}" if target.query else "")
    elif request.method == "GET":
        path = request.get_full_path()
    else:
        return ""
    if not url_has_allowed_host_and_scheme(path, allowed_hosts={request.get_host()}):
        return ""
    return path if path.startswith("/") and not path.startswith("//") else ""


def session_register(request: HttpRequest, user: User) -> UserSession:
    if request.session.session_key is None:
        request.session.save()
    return UserSession.objects.create(
        user=user,
        session_key=request.session.session_key,
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:256],
    )


def session_touch(request: HttpRequest) -> bool:
    """Mark the session seen; False when it was ended elsewhere."""
    key = request.session.session_key
    if not key:
        return False
    touched = UserSession.objects.filter(session_key=key, user=request.user).update(
        last_seen=timezone.now()
    )
    return touched == 1


def live_sessions(user: User) -> QuerySet[UserSession]:
    """The user's sessions still usable: seen within the idle timeout and
    opened within the absolute lifetime (SessionPolicyMiddleware ends the
    others at their next request, so their rows linger until then)."""
    now = timezone.now()
    return UserSession.objects.filter(
        user=user,
        last_seen__gt=now - settings.SESSION_IDLE_TIMEOUT,
        created_at__gt=now - settings.SESSION_ABSOLUTE_LIFETIME,
    ).order_by("-last_seen")


def sessions_end(*, user: User, keep_key: str | None = None) -> int:
    live = UserSession.objects.filter(user=user)
    if keep_key:
        live = live.exclude(session_key=keep_key)
    keys = list(live.values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    live.delete()
    return len(keys)


def session_end(*, user: User, session_id: int) -> bool:
    found = UserSession.objects.filter(user=user, pk=session_id).first()
    if found is None:
        return False
    Session.objects.filter(session_key=found.session_key).delete()
    found.delete()
    return True
