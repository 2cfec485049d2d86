"""The login's two steps kept in the session: the password step passed (a
pending user, for LOGIN_PENDING_SECONDS), then the TOTP step completes the login."""

import time

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest
from django_otp import login as otp_login

from accounts import lockout
from accounts.models import TOTPDevice, User
from accounts.sessions import session_register, start_session_clock
from audit.models import Action
from audit.services import record_event

PENDING_USER = "login_pending_user"
PENDING_SINCE = "login_pending_since"
PENDING_NEXT = "login_pending_next"
ENROL_DEVICE = "login_enrol_device"


def pending_user(request: HttpRequest) -> User | None:
    user_id = request.session.get(PENDING_USER)
    since = request.session.get(PENDING_SINCE, 0)
    if not user_id or time.time() - since > settings.LOGIN_PENDING_SECONDS:
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def start_pending_login(request: HttpRequest, user: User) -> None:
    """The password step passed (or an invitation was accepted): a new session id,
    and the TOTP step (or enrolment) must follow within LOGIN_PENDING_SECONDS."""
    request.session.cycle_key()
    request.session[PENDING_USER] = user.pk
    request.session[PENDING_SINCE] = time.time()


def complete_login(request: HttpRequest, user: User, device: TOTPDevice) -> None:
    lockout.attempt_passed(request, user.username)
    lockout.login_completed(request, user.username)
    # login() rotates the session id a second time (the first was after the password).
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    otp_login(request, device)
    for key in (PENDING_USER, PENDING_SINCE, PENDING_NEXT, ENROL_DEVICE):
        request.session.pop(key, None)
    start_session_clock(request)
    session_register(request, user)
    record_event(actor=request.actor.for_user(user), action=Action.LOGIN)
