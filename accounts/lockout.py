"""Lockout: attempts are counted *before* a password or code is checked.

django-axes counts a failure after the check, and its lock is read before it:
parallel requests all read "4 failures" and all get their password or code
checked (40 wrong TOTP codes at once had 10 to 16 checked against a limit of 5;
axes calls this a known issue it will not fix, jazzband/django-axes#592). Here
each attempt first takes a slot, in one statement that counts and answers (an
upsert returning the new count, atomic on PostgreSQL and SQLite): at most
AXES_FAILURE_LIMIT checks per username and address, AXES_USERNAME_CAP_PER_HOUR
per username from any address, whatever the concurrency. A check that passes
gives its slot back (only failures count); a completed login clears the
username and address, as axes does (AXES_RESET_ON_SUCCESS).

A slot is held until AXES_COOLOFF_TIME (username and address) or an hour
(username) has passed since the last attempt. axes still sees every failure (its
logs, its admin, its own lock inside authenticate()).
"""

from datetime import timedelta

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import connection
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.models import LoginThrottle, User
from audit.context import Actor
from audit.models import Action, Outcome
from audit.services import record_event
from secretariat.net import client_ip

CAP_WINDOW = timedelta(hours=1)

_TAKE = """
INSERT INTO accounts_loginthrottle (key, attempts, last_at) VALUES (%s, 1, %s)
ON CONFLICT (key) DO UPDATE SET
    attempts = CASE WHEN accounts_loginthrottle.last_at <= %s THEN 1
                    ELSE accounts_loginthrottle.attempts + 1 END,
    last_at = excluded.last_at
RETURNING attempts
"""


def _pair_key(username: str, ip: str) -> str:
    return f"ip:{ip}:{username}"[:255]


def _user_key(username: str) -> str:
    return f"user:{username}"[:255]


def _take(key: str, idle: timedelta) -> int:
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_TAKE, [key, now, now - idle])
        return cursor.fetchone()[0]


def attempt_begin(request: HttpRequest, username: str) -> bool:
    """Take a slot for one check of this username's password or code, from this
    address; False (check nothing) when the slots are used up."""
    taken = _take(_pair_key(username, client_ip(request)), settings.AXES_COOLOFF_TIME)
    if taken > settings.AXES_FAILURE_LIMIT:
        return False
    return _take(_user_key(username), CAP_WINDOW) <= settings.AXES_USERNAME_CAP_PER_HOUR


def attempt_passed(request: HttpRequest, username: str) -> None:
    """The check passed: its slot was not a failure."""
    keys = [_pair_key(username, client_ip(request)), _user_key(username)]
    LoginThrottle.objects.filter(key__in=keys, attempts__gt=0).update(attempts=F("attempts") - 1)


def login_completed(request: HttpRequest, username: str) -> None:
    """Password and code passed: this address starts afresh for the username."""
    LoginThrottle.objects.filter(key=_pair_key(username, client_ip(request))).delete()


def counters_prune() -> int:
    """Forget the counters no attempt has touched for a day (every one of them
    has expired by then); daily, with the account hygiene."""
    stale = LoginThrottle.objects.filter(last_at__lt=timezone.now() - timedelta(days=1))
    return stale.delete()[0]


def is_locked_out(request: HttpRequest, username: str) -> bool:
    """Whether the next attempt would be refused (nothing taken), or axes holds
    its own lock."""
    now = timezone.now()
    pair = LoginThrottle.objects.filter(
        key=_pair_key(username, client_ip(request)),
        last_at__gt=now - settings.AXES_COOLOFF_TIME,
        attempts__gte=settings.AXES_FAILURE_LIMIT,
    )
    user = LoginThrottle.objects.filter(
        key=_user_key(username),
        last_at__gt=now - CAP_WINDOW,
        attempts__gte=settings.AXES_USERNAME_CAP_PER_HOUR,
    )
    if pair.exists() or user.exists():
        return True
    return AxesProxyHandler.is_locked(request, {"username": username})


def record_failure(request: HttpRequest, username: str) -> None:
    """Tell axes (its logs, its admin) about a failed code; the password step
    goes through django.contrib.auth.authenticate, which sends the same signal."""
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)


def lockout_response(request: HttpRequest, response=None, credentials=None) -> HttpResponse:
    # Same answer whether the username exists or not.
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
