"""Lockout on top of django-axes.

axes locks one username from one IP after AXES_FAILURE_LIMIT failures (password
or TOTP: the TOTP step reports its failures through the same signal). We add the
per-username cap (AXES_USERNAME_CAP_PER_HOUR failures in an hour from any IP),
which axes' single limit cannot express next to the username+IP rule.
"""

from datetime import timedelta

from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessFailureLog
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def username_cap_reached(username: str) -> bool:
    since = timezone.now() - timedelta(hours=1)
    failures = AccessFailureLog.objects.filter(username=username, attempt_time__gte=since)
    return failures.count() >= settings.AXES_USERNAME_CAP_PER_HOUR


def is_locked_out(request: HttpRequest, username: str) -> bool:
    credentials = {"username": username}
    return AxesProxyHandler.is_locked(request, credentials) or username_cap_reached(username)


def record_failure(request: HttpRequest, username: str) -> None:
    """Count a failure (used by the TOTP step; the password step goes through
    django.contrib.auth.authenticate, which sends the same signal)."""
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)


def lockout_response(request: HttpRequest, response=None, credentials=None) -> HttpResponse:
    # Same answer whether the username exists or not.
    from accounts.models import User
    from audit.context import Actor
    from audit.models import Action, Outcome
    from audit.services import record_event

    username = (credentials or {}).get("username") or request.POST.get("username", "")
    known = User.objects.filter(username=username).first() if username else None
    record_event(
        actor=Actor.from_request(request, user=known),
        action=Action.LOCKOUT,
        outcome=Outcome.DENIED,
        detail={"known_user": known is not None},
    )
    return render(
        request,
        "accounts/locked_out.html",
        {"cooloff_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)},
        status=429,
    )
