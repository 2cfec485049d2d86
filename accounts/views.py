"""Login in two steps (password, then TOTP), enrolment, charter, home pages."""

from django.contrib import messages
from django.contrib.auth import authenticate, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import lockout, otp, selectors, services
from accounts.forms import AgreementForm, EnrolForm, LoginForm, OTPForm
from accounts.login import (
    ENROL_DEVICE,
    PENDING_NEXT,
    complete_login,
    confirmed_device,
    landing_url,
    pending_user,
    start_pending_login,
)
from accounts.models import Membership, TOTPDevice, User, UserSession
from accounts.navigation import practice_actions, provider_actions
from accounts.permissions import agreement_exempt, any_authenticated, practice_permission
from accounts.qr import qr_data_uri
from accounts.roles import Role
from accounts.sessions import live_sessions, session_end, sessions_end
from audit.models import Action, ObjectType, Outcome
from audit.services import record_event


@login_not_required
@agreement_exempt
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("accounts:home")
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        if not lockout.attempt_begin(request, username):
            return lockout.lockout_response(request, credentials={"username": username})
        user = authenticate(request, username=username, password=form.cleaned_data["password"])
        if user is None:
            known = User.objects.filter(username=username).first()
            record_event(
                actor=request.actor.for_user(known),
                action=Action.LOGIN_FAILED,
                outcome=Outcome.DENIED,
                detail={"step": "password", "known_user": known is not None},
            )
            if getattr(request, "axes_locked_out", False) or lockout.is_locked_out(
                request, username
            ):
                return lockout.lockout_response(request, credentials={"username": username})
            form.add_error(None, _("Identifiant ou mot de passe incorrect."))
        else:
            lockout.attempt_passed(request, username)
            start_pending_login(request, user)
            _remember_next(request)
            if confirmed_device(user) is None:
                return redirect("accounts:enrol")
            return redirect("accounts:otp")
    return render(request, "accounts/login.html", {"form": form})


def _remember_next(request: HttpRequest) -> None:
    """Where the login was asked from (?next=, e.g. the admin), if it is ours."""
    target = request.GET.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        request.session[PENDING_NEXT] = target


def _otp_failure(request: HttpRequest, user: User, step: str) -> HttpResponse | None:
    lockout.record_failure(request, user.username)
    record_event(
        actor=request.actor.for_user(user),
        action=Action.OTP_FAILED,
        outcome=Outcome.DENIED,
        detail={"step": step},
    )
    if lockout.is_locked_out(request, user.username):
        return lockout.lockout_response(request, credentials={"username": user.username})
    return None


@login_not_required
@agreement_exempt
@require_http_methods(["GET", "POST"])
def otp_view(request: HttpRequest) -> HttpResponse:
    user = pending_user(request)
    if user is None:
        messages.info(request, _("Veuillez d'abord saisir votre identifiant et mot de passe."))
        return redirect("accounts:login")
    if lockout.is_locked_out(request, user.username):
        return lockout.lockout_response(request, credentials={"username": user.username})
    device = confirmed_device(user)
    if device is None:
        return redirect("accounts:enrol")
    form = OTPForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not lockout.attempt_begin(request, user.username):
            return lockout.lockout_response(request, credentials={"username": user.username})
        code = form.cleaned_data["code"]
        if len(code.replace(" ", "")) > 6:
            accepted = otp.recovery_code_use(user=user, code=code)
            if accepted:
                record_event(actor=request.actor.for_user(user), action=Action.RECOVERY_CODE_USED)
        else:
            accepted = device.verify_token(code)
        if accepted:
            target = request.session.get(PENDING_NEXT) or landing_url(user)
            complete_login(request, user, device)
            return redirect(target)
        locked = _otp_failure(request, user, "totp")
        if locked:
            return locked
        form.add_error("code", _("Code incorrect ou déjà utilisé."))
    return render(request, "accounts/otp.html", {"form": form})


@login_not_required
@agreement_exempt
@require_http_methods(["GET", "POST"])
def enrol_view(request: HttpRequest) -> HttpResponse:
    user = pending_user(request)
    if user is None:
        messages.info(request, _("Veuillez d'abord saisir votre identifiant et mot de passe."))
        return redirect("accounts:login")
    if confirmed_device(user) is not None:
        return redirect("accounts:otp")
    if lockout.is_locked_out(request, user.username):
        return lockout.lockout_response(request, credentials={"username": user.username})
    device = TOTPDevice.objects.filter(
        pk=request.session.get(ENROL_DEVICE), user=user, confirmed=False
    ).first()
    if device is None:
        device, _secret = services.device_start_enrolment(user=user)
        request.session[ENROL_DEVICE] = device.pk
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not lockout.attempt_begin(request, user.username):
            return lockout.lockout_response(request, credentials={"username": user.username})
        if device.verify_token(form.cleaned_data["code"]):
            codes = services.device_confirm(device=device, actor=request.actor)
            complete_login(request, user, device)
            response = render(request, "accounts/recovery_codes.html", {"codes": codes})
            # The codes are secrets: no copy in any cache or the browser's history.
            response["Cache-Control"] = "no-store"
            return response
        locked = _otp_failure(request, user, "enrolment")
        if locked:
            return locked
        form.add_error("code", _("Code incorrect. Vérifiez l'heure de votre téléphone."))
    uri = otp.provisioning_uri(user, device.secret())
    context = {
        "form": form,
        "qr": qr_data_uri(uri),
        "secret": uri.split("secret=")[1].split("&")[0],
    }
    response = render(request, "accounts/enrol.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_not_required
@agreement_exempt
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        record_event(actor=request.actor, action=Action.LOGOUT)
        UserSession.objects.filter(session_key=request.session.session_key).delete()
    logout(request)
    messages.success(request, _("Vous êtes déconnecté."))
    return redirect("accounts:login")


@any_authenticated
@agreement_exempt
@require_http_methods(["GET", "POST"])
def agreement_view(request: HttpRequest) -> HttpResponse:
    agreement = selectors.current_agreement()
    if agreement is None:
        return redirect("accounts:home")
    accepted = selectors.has_accepted(request.user, agreement)
    form = AgreementForm(request.POST or None)
    if request.method == "POST" and not accepted and form.is_valid():
        services.agreement_accept(agreement=agreement, actor=request.actor)
        messages.success(request, _("Merci, votre acceptation de la charte est enregistrée."))
        return redirect(landing_url(request.user))
    context = {"agreement": agreement, "accepted": accepted, "form": form}
    return render(request, "accounts/agreement.html", context)


@any_authenticated
@require_http_methods(["GET"])
def home_view(request: HttpRequest) -> HttpResponse:
    context = {
        "pending_roles": selectors.pending_roles(request.user),
        "practices": selectors.user_practices(request.user),
        "provider_actions": provider_actions(request.user),
        "provider_roles": [
            Role(role).label for role in sorted(selectors.provider_roles(request.user))
        ],
    }
    return render(request, "accounts/home.html", context)


@practice_permission("view_practice_home")
@require_http_methods(["GET"])
def practice_home_view(request: HttpRequest, practice: str) -> HttpResponse:
    access = request.practice_access
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        object_type="practice",
        object_id=access.practice.pk,
    )
    context = {
        "access": access,
        "actions": practice_actions(request),
        "roles": [Role(role).label for role in Role.values if role in access.roles],
    }
    return render(request, "accounts/practice_home.html", context)


@practice_permission("manage_practice_settings")
@require_http_methods(["GET"])
def team_view(request: HttpRequest, practice: str) -> HttpResponse:
    """The practice's team: roles the provider granted wait here for the
    manager's confirmation before they open anything."""
    team = selectors.practice_team(request.practice)
    record_event(
        actor=request.actor,
        action=Action.LIST,
        object_type=ObjectType.MEMBERSHIP,
        detail={"count": len(team)},
    )
    return render(request, "accounts/team.html", {"team": team})


def _team_membership(request: HttpRequest, membership_id: int) -> Membership:
    # Within the practice: another practice's membership answers 404.
    return get_object_or_404(
        Membership.objects.granted().pending(), pk=membership_id, practice=request.practice
    )


@practice_permission("manage_practice_settings")
@require_POST
def team_confirm_view(request: HttpRequest, practice: str, membership_id: int) -> HttpResponse:
    membership = _team_membership(request, membership_id)
    try:
        services.membership_confirm(membership=membership, actor=request.actor)
    except services.MembershipError as error:
        messages.error(request, str(error))
        return redirect("accounts:team", request.practice.slug)
    messages.success(request, _("Rôle confirmé : il prend effet immédiatement."))
    return redirect("accounts:team", request.practice.slug)


@practice_permission("manage_practice_settings")
@require_POST
def team_refuse_view(request: HttpRequest, practice: str, membership_id: int) -> HttpResponse:
    membership = _team_membership(request, membership_id)
    services.membership_revoke(membership=membership, actor=request.actor)
    messages.success(request, _("Rôle refusé : la personne n'a pas accès au cabinet."))
    return redirect("accounts:team", request.practice.slug)


@any_authenticated
@require_http_methods(["GET"])
def sessions_view(request: HttpRequest) -> HttpResponse:
    context = {
        "live_sessions": live_sessions(request.user),
        "current_key": request.session.session_key,
    }
    return render(request, "accounts/sessions.html", context)


@any_authenticated
@require_POST
def session_end_view(request: HttpRequest, session_id: int) -> HttpResponse:
    if not session_end(user=request.user, session_id=session_id):
        raise Http404
    record_event(
        actor=request.actor, action=Action.LOGOUT, object_type="session", object_id=session_id
    )
    messages.success(request, _("La session a été terminée."))
    return redirect("accounts:sessions")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Needs the current password; ends the user's other sessions."""

    template_name = "accounts/password_change.html"
    http_method_names = ["get", "post"]  # not FormView's PUT, HEAD or OPTIONS
    success_url = reverse_lazy("accounts:home")

    def form_valid(self, form):
        old_key = self.request.session.session_key
        response = super().form_valid(form)  # rotates the session id
        new_key = self.request.session.session_key
        UserSession.objects.filter(session_key=old_key).update(session_key=new_key)
        sessions_end(user=self.request.user, keep_key=new_key)
        record_event(
            actor=self.request.actor,
            action=Action.UPDATE,
            object_type="password",
            object_id=self.request.user.pk,
        )
        messages.success(self.request, _("Votre mot de passe a été modifié."))
        return response


password_change_view = any_authenticated(PasswordChangeView.as_view())
