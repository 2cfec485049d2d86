"""Live sessions of a user: registered at login, touched on every request,
ended from anywhere (the user's own page, a device reset, a deactivation)."""

from django.contrib.sessions.models import Session
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User, UserSession
from secretariat.net import client_ip


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
