"""The platform admin's pages: dashboard, guided onboarding of a practice,
invitations, assignments, device resets. No patient data is reachable here."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.login import start_pending_login
from accounts.models import Membership, Practice, User
from accounts.permissions import agreement_exempt, provider_permission
from accounts.roles import Role
from accounts.services import (
    MembershipError,
    membership_confirm,
    membership_revoke,
    practice_has_manager,
)
from audit.models import Action
from audit.services import record_event
from onboarding import selectors, services
from onboarding.forms import (
    AssignmentForm,
    ContractForm,
    DeviceResetForm,
    InvitationAcceptForm,
    InvitationForm,
    PracticeCloseForm,
    PracticeIdentityEditForm,
    PracticeIdentityForm,
    StatusForm,
)
from onboarding.models import Invitation

ONBOARD = "onboard_practices"


@provider_permission(ONBOARD)
@require_http_methods(["GET"])
def dashboard_view(request: HttpRequest) -> HttpResponse:
    record_event(actor=request.actor, action=Action.LIST, object_type="platform_dashboard")
    context = {
        "practices": selectors.practices_overview(),
        "users": selectors.users_overview(),
        "invitations": selectors.pending_invitations(),
        "provider_invite_form": InvitationForm(practice_roles=False),
    }
    return render(request, "onboarding/dashboard.html", context)


@provider_permission(ONBOARD)
@require_http_methods(["GET", "POST"])
def practice_new_view(request: HttpRequest) -> HttpResponse:
    form = PracticeIdentityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            practice = services.practice_onboard_start(actor=request.actor, **form.cleaned_data)
        except services.OnboardingError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Cabinet créé : poursuivez son intégration."))
            return redirect("platform:practice", practice.slug)
    status = 400 if request.method == "POST" else 200
    return render(request, "onboarding/practice_new.html", {"form": form}, status=status)


def _practice(slug: str) -> Practice:
    return get_object_or_404(Practice, slug=slug)


def _render_practice(request: HttpRequest, practice: Practice, status: int = 200, **forms):
    context = {
        "practice": practice,
        "checklist": services.onboarding_checklist(practice),
        "has_data_key": services.practice_has_data_key(practice),
        "handover": selectors.practice_handover(practice),
        "memberships": selectors.practice_memberships(practice),
        "has_manager": practice_has_manager(practice),
        "invitations": selectors.pending_invitations(practice),
        "contracts": practice.processingcontract_set.all(),
        "identity_form": forms.get("identity_form") or PracticeIdentityEditForm(instance=practice),
        "contract_form": forms.get("contract_form") or ContractForm(),
        "invite_form": forms.get("invite_form") or InvitationForm(practice_roles=True),
        "assign_form": forms.get("assign_form")
        or AssignmentForm(practice=practice, initial={"starts_on": timezone.localdate()}),
        "error": forms.get("error"),
        "shred_after_days": settings.PRACTICE_SHRED_AFTER_DAYS,
    }
    return render(request, "onboarding/practice.html", context, status=status)


@provider_permission(ONBOARD)
@require_http_methods(["GET"])
def practice_view(request: HttpRequest, slug: str) -> HttpResponse:
    practice = _practice(slug)
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        practice=practice,
        object_type="practice",
        object_id=practice.pk,
    )
    return _render_practice(request, practice)


@provider_permission(ONBOARD)
@require_POST
def practice_identity_view(request: HttpRequest, slug: str) -> HttpResponse:
    practice = _practice(slug)
    form = PracticeIdentityEditForm(request.POST, instance=Practice.objects.get(pk=practice.pk))
    if not form.is_valid():
        return _render_practice(request, practice, 400, identity_form=form)
    services.practice_identity_update(practice=practice, actor=request.actor, **form.cleaned_data)
    messages.success(request, _("Identité du cabinet enregistrée."))
    return redirect("platform:practice", practice.slug)


@provider_permission(ONBOARD)
@require_POST
def contract_upload_view(request: HttpRequest, slug: str) -> HttpResponse:
    practice = _practice(slug)
    form = ContractForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["pdf"]
        if upload.size > services.MAX_CONTRACT_BYTES:
            form.add_error("pdf", _("Le PDF dépasse 10 Mo."))
        else:
            try:
                services.contract_record(
                    practice=practice,
                    version=form.cleaned_data["version"],
                    signed_on=form.cleaned_data["signed_on"],
                    pdf=upload.read(),
                    actor=request.actor,
                )
            except services.OnboardingError as error:
                form.add_error("pdf", str(error))
            else:
                messages.success(request, _("Contrat enregistré (chiffré)."))
                return redirect("platform:practice", practice.slug)
    return _render_practice(request, practice, 400, contract_form=form)


@provider_permission(ONBOARD)
@require_POST
def data_key_create_view(request: HttpRequest, slug: str) -> HttpResponse:
    practice = _practice(slug)
    try:
        services.data_key_create(practice=practice, actor=request.actor)
    except services.OnboardingError as error:
        return _render_practice(request, practice, 400, error=str(error))
    messages.success(request, _("Clé de chiffrement du cabinet créée."))
    return redirect("platform:practice", practice.slug)


@provider_permission(ONBOARD)
@require_POST
def agenda_starter_view(request: HttpRequest, slug: str) -> HttpResponse:
    practice = _practice(slug)
    counts = services.agenda_starter(practice=practice, actor=request.actor)
    messages.success(
        request,
        _(
            "Modèle appliqué : %(types)d type(s) de rendez-vous créé(s), horaires donnés à "
            "%(practitioners)d praticien(s). Le responsable du cabinet peut les ajuster."
        )
        % counts,
    )
    return redirect("platform:practice", practice.slug)


def _site_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


@provider_permission(ONBOARD)
@require_POST
def practice_invite_view(request: HttpRequest, slug: str) -> HttpResponse:
    practice = _practice(slug)
    form = InvitationForm(request.POST, practice_roles=True)
    if form.is_valid():
        try:
            services.invitation_create(
                practice=practice,
                actor=request.actor,
                site_url=_site_url(request),
                **form.cleaned_data,
            )
        except services.OnboardingError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Invitation envoyée."))
            return redirect("platform:practice", practice.slug)
    return _render_practice(request, practice, 400, invite_form=form)


@provider_permission(ONBOARD)
@require_POST
def provider_invite_view(request: HttpRequest) -> HttpResponse:
    form = InvitationForm(request.POST, practice_roles=False)
    if form.is_valid():
        try:
            services.invitation_create(
                practice=None, actor=request.actor, site_url=_site_url(request), **form.cleaned_data
            )
        except services.OnboardingError as error:
            messages.error(request, str(error))
            return redirect("platform:dashboard")
        messages.success(request, _("Invitation envoyée."))
        return redirect("platform:dashboard")
    messages.error(request, _("Invitation incomplète : vérifiez les champs."))
    return redirect("platform:dashboard")


@provider_permission(ONBOARD)
@require_POST
def assignment_add_view(request: HttpRequest, slug: str) -> HttpResponse:
    practice = _practice(slug)
    form = AssignmentForm(request.POST, practice=practice)
    if form.is_valid():
        try:
            services.assignment_add(practice=practice, actor=request.actor, **form.cleaned_data)
        except services.OnboardingError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Télésecrétaire affecté·e au cabinet."))
            return redirect("platform:practice", practice.slug)
    return _render_practice(request, practice, 400, assign_form=form)


@provider_permission(ONBOARD)
@require_POST
def assignment_remove_view(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    practice = _practice(slug)
    membership = get_object_or_404(Membership, pk=membership_id, practice=practice)
    membership_revoke(membership=membership, actor=request.actor)
    messages.success(request, _("Accès retiré : il prend effet immédiatement."))
    return redirect("platform:practice", practice.slug)


@provider_permission(ONBOARD)
@require_POST
def membership_confirm_view(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    """A practice's first manager, confirmed by a second platform admin (the
    practice has no manager yet to do it); compliance is alerted."""
    practice = _practice(slug)
    membership = get_object_or_404(
        Membership.objects.pending(), pk=membership_id, practice=practice
    )
    try:
        membership_confirm(membership=membership, actor=request.actor)
    except MembershipError as error:
        return _render_practice(request, practice, 400, error=str(error))
    messages.success(request, _("Responsable du cabinet confirmé ; la conformité en est informée."))
    return redirect("platform:practice", practice.slug)


@provider_permission(ONBOARD)
@require_POST
def practice_status_view(request: HttpRequest, slug: str) -> HttpResponse:
    practice = _practice(slug)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _render_practice(request, practice, 400, error=_("Statut inconnu."))
    try:
        services.practice_status_change(
            practice=practice, status=form.cleaned_data["status"], actor=request.actor
        )
    except services.OnboardingError as error:
        return _render_practice(request, practice, 400, error=str(error))
    messages.success(request, _("Statut du cabinet mis à jour."))
    return redirect("platform:practice", practice.slug)


@provider_permission(ONBOARD)
@require_http_methods(["GET", "POST"])
def practice_close_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Closing a practice cannot be undone: the page says what will happen, and
    only a post with the confirmation box ticked closes it. A post without it
    changes nothing and shows the page again (400)."""
    practice = _practice(slug)
    form = PracticeCloseForm(request.POST if request.method == "POST" else None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            services.practice_status_change(
                practice=practice, status=Practice.Status.CLOSED, actor=request.actor
            )
        except services.OnboardingError as refused:
            error = str(refused)
        else:
            messages.success(request, _("Cabinet fermé définitivement."))
            return redirect("platform:practice", practice.slug)
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        practice=practice,
        object_type="practice",
        object_id=practice.pk,
    )
    context = {
        "practice": practice,
        "form": form,
        "error": error,
        "summary": selectors.closure_summary(practice),
        "shred_after_days": settings.PRACTICE_SHRED_AFTER_DAYS,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "onboarding/practice_close.html", context, status=status)


@provider_permission(ONBOARD)
@require_POST
def invitation_revoke_view(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=invitation_id, accepted_at__isnull=True)
    services.invitation_revoke(invitation=invitation, actor=request.actor)
    messages.success(request, _("Invitation révoquée."))
    return redirect("platform:dashboard")


@provider_permission("reset_devices")
@require_http_methods(["GET", "POST"])
def device_reset_view(request: HttpRequest, user_id: int) -> HttpResponse:
    target = get_object_or_404(User, pk=user_id)
    form = DeviceResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.device_reset(
                user=target,
                method=form.cleaned_data["method"],
                reference=form.cleaned_data["reference"],
                actor=request.actor,
            )
        except services.OnboardingError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _(
                    "Appareil réinitialisé : %(user)s enregistrera un nouvel appareil "
                    "à sa prochaine connexion."
                )
                % {"user": target.get_full_name() or target.username},
            )
            return redirect("platform:dashboard")
    status = 400 if request.method == "POST" else 200
    context = {"target": target, "form": form}
    return render(request, "onboarding/device_reset.html", context, status=status)


@login_not_required
@agreement_exempt
@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.invitation_for_token(token)
    if invitation is None:
        return render(request, "onboarding/invitation_invalid.html", status=410)
    form = InvitationAcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                token=token,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                actor=request.actor,
            )
        except ValidationError as error:
            form.add_error(None, error)
        except services.OnboardingError:
            return render(request, "onboarding/invitation_invalid.html", status=410)
        else:
            start_pending_login(request, user)
            return redirect("accounts:enrol")
    context = {"invitation": invitation, "form": form, "role": Role(invitation.role).label}
    status = 400 if request.method == "POST" else 200
    response = render(request, "onboarding/invitation_accept.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response
