"""The login's two steps kept in the session: the password step passed (a
pending user, for LOGIN_PENDING_SECONDS), then the TOTP step completes the login."""

import time

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest
from django.urls import reverse
from django_otp import login as otp_login

from accounts import lockout
from accounts.models import TOTPDevice, User
from accounts.roles import Role
from accounts.selectors import user_practices
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


def landing_url(user: User) -> str:
    """Where a login lands when no page asked for it (issue 14 item 7): a
    telesecretary on the call console (straight on the practice's console when
    it is their only practice), everybody else on the home page. The console is
    named by its URL, not imported (it sits in a layer above)."""
    practices = user_practices(user)
    answering = [access for access in practices if Role.TELESECRETARY in access.roles]
    if not answering:
        return reverse("accounts:home")
    if len(practices) == 1:
        return reverse("console:practice", args=[answering[0].practice.slug])
    return reverse("console:home")
